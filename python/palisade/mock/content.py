"""Deterministic text: prompt extraction, approximate token counts, replies and stream chunks.

Token counts are an approximation, not a real tokenizer: one token per run of word characters and
one per punctuation character (`\\w+|[^\\w\\s]`), plus the per-message overhead the real chat API
adds (3 per message, 3 to prime the reply). Deterministic is what matters for tests and
accounting; a later issue may swap in the exact tokenizer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from palisade.mock.errors import InvalidRequest

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\S+")
MESSAGE_OVERHEAD = 3
REPLY_PRIMING = 3

_WORDS = (
    "the",
    "mock",
    "provider",
    "answers",
    "every",
    "request",
    "with",
    "deterministic",
    "text",
    "so",
    "that",
    "tests",
    "can",
    "check",
    "each",
    "byte",
    "of",
    "stream",
    "while",
    "gateway",
    "scans",
    "routes",
    "accounts",
    "and",
    "records",
    "traffic",
    "between",
    "clients",
    "models",
    "without",
    "reaching",
    "any",
    "real",
    "network",
    "service",
    "at",
    "all",
    "today",
)


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def truncate_tokens(text: str, limit: int) -> str:
    """The prefix of `text` that holds its first `limit` tokens."""
    if limit <= 0:
        return ""
    for index, match in enumerate(_TOKEN.finditer(text)):
        if index == limit - 1:
            return text[: match.end()]
    return text


def seed(*parts: str) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.digest()


@lru_cache(maxsize=4096)
def reply_for(key: bytes) -> str:
    """A deterministic sentence of 12 to 24 words picked by the bytes of `key`."""
    stream = hashlib.shake_256(key).digest(32)
    count = 12 + stream[0] % 13
    words = [_WORDS[stream[1 + i] % len(_WORDS)] for i in range(count)]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


@lru_cache(maxsize=4096)
def split_chunks(text: str, count: int) -> tuple[str, ...]:
    """`text` cut into `count` non-empty pieces (fewer if it is shorter), word boundaries first.

    The pieces concatenate back to `text`; like real token deltas, a piece carries the space in
    front of its word.
    """
    if not text:
        return ("",)
    starts = [0, *(m.end() for m in _WORD.finditer(text))][:-1] or [0]
    if len(starts) < count:
        starts = list(range(len(text)))
    count = min(count, len(starts))
    cuts = [starts[(i * len(starts)) // count] for i in range(count)] + [len(text)]
    return tuple(text[cuts[i] : cuts[i + 1]] for i in range(count))


def content_text(content: Any) -> str:
    """The text of a message `content`: a string, or a list of parts with `text` fields."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_part_texts(content))
    return ""


def _part_texts(parts: Iterable[Any]) -> Iterable[str]:
    for part in parts:
        if isinstance(part, str):
            yield part
        elif isinstance(part, dict):
            text = part.get("text")
            if isinstance(text, str):
                yield text


def chat_prompt(messages: list[Any]) -> tuple[str, int]:
    """The prompt text of chat `messages` and its approximate token count."""
    texts: list[str] = []
    tokens = REPLY_PRIMING
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        text = content_text(message.get("content"))
        calls = message.get("tool_calls")
        if calls is not None and not isinstance(calls, list):
            param = f"messages[{index}].tool_calls"
            raise InvalidRequest(
                f"Invalid type for '{param}': expected an array.", param, "invalid_type"
            )
        for call in calls or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                text += f"\n{function.get('name', '')}({function.get('arguments', '')})"
        texts.append(text)
        tokens += MESSAGE_OVERHEAD + count_tokens(text)
        name = message.get("name")
        if isinstance(name, str):
            tokens += count_tokens(name)
    return "\n".join(texts), tokens


def answer_text(key: bytes, reply: str | None, limit: int | None, stop: Any) -> tuple[str, str]:
    """The assistant text and its finish reason (`stop`, or `length` when `limit` cut it)."""
    text = reply if reply is not None else reply_for(key)
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else ()
    for marker in stops:
        if isinstance(marker, str) and marker and marker in text:
            text = text[: text.index(marker)]
    if limit is not None and count_tokens(text) > limit:
        return truncate_tokens(text, limit), "length"
    return text, "stop"
