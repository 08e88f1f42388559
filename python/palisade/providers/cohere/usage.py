"""Cohere usage and token counting.

A chat answer (and a stream's `message-end` delta) reports `usage: {billed_units, tokens,
cached_tokens}`; an embed answer reports the same under `meta`. `billed_units` are what Cohere
charges (the prompt without the template tokens it adds), `tokens` what the model saw: the
gateway counts the billed ones, since the price database's prices are per billed token, and
falls back to `tokens` for a figure the bill leaves out. Cohere's tokenizer is not in the
gateway: a prompt it counts itself (reservations, a provider that reports nothing) is counted by
the tokenizer it has for the model name, an estimate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from palisade._core import count_tokens, encoding_for_model
from palisade.pricing import Usage
from palisade.providers.base import Event


def _int(value: object) -> int | None:
    # Cohere's SDK types these as floats; the API sends integers.
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value)


def counts(usage: dict[str, Any]) -> tuple[int, int, int] | None:
    """(input, output, cached) tokens of a Cohere usage object; None when it holds none."""
    billed = usage.get("billed_units")
    tokens = usage.get("tokens")
    billed = billed if isinstance(billed, dict) else {}
    tokens = tokens if isinstance(tokens, dict) else {}
    figures: list[int | None] = []
    for key in ("input_tokens", "output_tokens"):
        value = _int(billed.get(key))
        figures.append(value if value is not None else _int(tokens.get(key)))
    if figures[0] is None and figures[1] is None:
        return None
    return figures[0] or 0, figures[1] or 0, _int(usage.get("cached_tokens")) or 0


def from_cohere(usage: object) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    found = counts(usage)
    if found is None:
        return None
    inp, out, cached = found
    return Usage(inp, out, min(cached, inp))


def usage_of(obj: dict[str, Any]) -> Usage | None:
    """A chat answer's `usage`, or an embed answer's `meta`."""
    usage = obj.get("usage")
    return from_cohere(usage if usage is not None else obj.get("meta"))


def prompt_tokens(body: dict[str, Any], model: str) -> int:
    texts: list[str] = []
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if not isinstance(message, dict):
                continue
            _texts(message.get("content"), texts)
            if isinstance(message.get("tool_plan"), str):
                texts.append(message["tool_plan"])
            calls = message.get("tool_calls")
            if isinstance(calls, list) and calls:
                texts.append(orjson.dumps(calls).decode())
    documents = body.get("documents")
    if isinstance(documents, list) and documents:
        texts.append(orjson.dumps(documents).decode())
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        texts.append(orjson.dumps(tools).decode())
    if not texts:
        return 0
    return count_tokens("\n".join(texts), encoding_for_model(model))


def embed_tokens(body: dict[str, Any], model: str) -> int:
    texts: list[str] = []
    value = body.get("texts")
    if isinstance(value, list):
        texts.extend(t for t in value if isinstance(t, str))
    inputs = body.get("inputs")
    if isinstance(inputs, list):
        for item in inputs:
            if isinstance(item, dict):
                _texts(item.get("content"), texts)
    if not texts:
        return 0
    encoding = encoding_for_model(model)
    return sum(count_tokens(t, encoding) for t in texts)


def _texts(content: object, out: list[str]) -> None:
    if isinstance(content, str):
        out.append(content)
    elif isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part.get("document"), dict):
                out.append(orjson.dumps(part["document"]).decode())


def max_output_tokens(body: dict[str, Any], default: int) -> int:
    value = body.get("max_tokens")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def answer_texts(obj: dict[str, Any]) -> Iterator[str]:
    message = obj.get("message")
    if not isinstance(message, dict):
        return
    content = message.get("content")
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                for key in ("text", "thinking"):
                    if isinstance(part.get(key), str):
                        yield part[key]
    if isinstance(message.get("tool_plan"), str):
        yield message["tool_plan"]
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                for key in ("name", "arguments"):
                    if isinstance(fn.get(key), str):
                        yield fn[key]


def event_texts(event: Event) -> Iterator[str]:
    obj = event[1]
    if not isinstance(obj, dict):
        return
    delta = obj.get("delta")
    message = delta.get("message") if isinstance(delta, dict) else None
    if not isinstance(message, dict):
        return
    kind = obj.get("type")
    if kind in ("content-delta", "content-start"):
        content = message.get("content")
        if isinstance(content, dict):
            for key in ("text", "thinking"):
                if isinstance(content.get(key), str):
                    yield content[key]
    elif kind == "tool-plan-delta":
        if isinstance(message.get("tool_plan"), str):
            yield message["tool_plan"]
    elif kind in ("tool-call-start", "tool-call-delta"):
        call = message.get("tool_calls")
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            for key in ("name", "arguments"):
                if isinstance(fn.get(key), str):
                    yield fn[key]
