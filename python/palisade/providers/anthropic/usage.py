"""Anthropic usage and token counting.

Anthropic's `input_tokens` leaves out the cache reads and writes, which it reports apart;
`Usage` counts the whole prompt (`pricing.Usage.from_provider` does the sum). A stream reports
the prompt in `message_start` and the output (and, in newer versions, the prompt again) in
`message_delta`: the later figures win.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from palisade._core import count_tokens, encoding_for_model
from palisade.pricing import Usage
from palisade.providers.base import Event


def usage_of(obj: dict[str, Any]) -> Usage | None:
    usage = obj.get("usage")
    return Usage.from_provider(usage) if isinstance(usage, dict) else None


def merged(current: Usage | None, delta: dict[str, Any]) -> Usage | None:
    """`message_delta`'s usage over `message_start`'s."""
    if current is None:
        return Usage.from_provider(delta)
    raw: dict[str, Any] = {
        "input_tokens": current.input_tokens - current.cached_tokens - current.cache_write_tokens,
        "output_tokens": current.output_tokens,
        "cache_read_input_tokens": current.cached_tokens,
        "cache_creation_input_tokens": current.cache_write_tokens,
    }
    raw.update((k, v) for k, v in delta.items() if v is not None)
    return Usage.from_provider(raw) or current


def prompt_tokens(body: dict[str, Any], model: str) -> int:
    """The texts of the prompt, tool calls and tool definitions included, by the tokenizer the
    gateway has for the model (Anthropic's own is not public: an estimate)."""
    texts: list[str] = []
    system = body.get("system")
    if isinstance(system, str):
        texts.append(system)
    elif isinstance(system, list):
        _block_texts(system, texts)
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                _block_texts(content, texts)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        texts.append(orjson.dumps(tools).decode())
    if not texts:
        return 0
    return count_tokens("\n".join(texts), encoding_for_model(model))


def _block_texts(blocks: list[Any], out: list[str]) -> None:
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if isinstance(block.get("text"), str):
            out.append(block["text"])
        elif kind == "tool_use":
            out.append(orjson.dumps(block.get("input", {})).decode())
        elif kind == "tool_result":
            content = block.get("content")
            if isinstance(content, str):
                out.append(content)
            elif isinstance(content, list):
                _block_texts(content, out)
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            out.append(block["thinking"])


def max_output_tokens(body: dict[str, Any], default: int) -> int:
    value = body.get("max_tokens")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def answer_texts(obj: dict[str, Any]) -> Iterator[str]:
    content = obj.get("content")
    if isinstance(content, list):
        texts: list[str] = []
        _block_texts(content, texts)
        yield from texts


def event_texts(event: Event) -> Iterator[str]:
    obj = event[1]
    if not isinstance(obj, dict) or obj.get("type") != "content_block_delta":
        return
    delta = obj.get("delta")
    if not isinstance(delta, dict):
        return
    for key in ("text", "partial_json", "thinking"):
        if isinstance(delta.get(key), str):
            yield delta[key]
