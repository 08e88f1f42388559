"""OpenAI usage and token counting: the usage object of an answer or a stream event, the
prompt's tokens as the gateway counts them, and the generated texts to count when a provider
reports no usage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from palisade._core import count_chat_tokens, count_tokens, encoding_for_model
from palisade.pricing import Usage
from palisade.providers.base import Event


def usage_of(obj: dict[str, Any]) -> Usage | None:
    usage = obj.get("usage")
    if usage is None and isinstance(obj.get("response"), dict):
        usage = obj["response"].get("usage")  # Responses API: response.completed
    return Usage.from_provider(usage) if isinstance(usage, dict) else None


def chat_prompt_tokens(body: dict[str, Any], model: str) -> int:
    messages = body.get("messages")
    if isinstance(messages, list):
        tools = body.get("tools")
        try:
            return count_chat_tokens(
                orjson.dumps(messages), model, orjson.dumps(tools) if tools else None
            )
        except (ValueError, TypeError):
            pass
    return 0


def values_tokens(value: object, model: str) -> int:
    """A string, a list of strings, or token ids (lists of ints) as the APIs accept them."""
    return _count_values(value, encoding_for_model(model))


def _count_values(value: object, encoding: str) -> int:
    if isinstance(value, str):
        return count_tokens(value, encoding)
    if isinstance(value, list):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return len(value)
        return sum(_count_values(v, encoding) for v in value)
    return 0


def responses_prompt_tokens(body: dict[str, Any], model: str) -> int:
    encoding = encoding_for_model(model)
    texts = [body.get("instructions"), *_input_texts(body.get("input"))]
    return sum(count_tokens(t, encoding) for t in texts if isinstance(t, str))


def _input_texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):
                continue
            content = item.get("content", item.get("output"))
            if isinstance(content, str):
                yield content
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        yield part["text"]
            if isinstance(item.get("arguments"), str):
                yield item["arguments"]


def max_output_tokens(body: dict[str, Any], default: int) -> int:
    most = default
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = _positive_int(body.get(name))
        if value is not None:
            most = value
            break
    return most * (_positive_int(body.get("n")) or 1)  # each choice may use them all


def _positive_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def answer_texts(obj: dict[str, Any]) -> Iterator[str]:
    yield from _choice_texts(obj, "message")
    for item in _dicts(obj.get("output")):  # Responses API
        if isinstance(item.get("arguments"), str):
            yield item["arguments"]
        for part in _dicts(item.get("content")):
            if isinstance(part.get("text"), str):
                yield part["text"]


def _choice_texts(obj: dict[str, Any], key: str) -> Iterator[str]:
    """The texts of each choice's `key` (`message`, or a stream's `delta`), or of its `text`
    (completions)."""
    for choice in _dicts(obj.get("choices")):
        holder = choice.get(key)
        if isinstance(holder, dict):
            yield from _message_texts(holder)
        elif isinstance(choice.get("text"), str):
            yield choice["text"]


def _message_texts(message: dict[str, Any]) -> Iterator[str]:
    for key in ("content", "refusal", "reasoning_content"):
        if isinstance(message.get(key), str):
            yield message[key]
    for call in _dicts(message.get("tool_calls")):
        function = call.get("function")
        if isinstance(function, dict):
            for key in ("name", "arguments"):
                if isinstance(function.get(key), str):
                    yield function[key]


def event_texts(event: Event) -> Iterator[str]:
    obj = event[1]
    if not isinstance(obj, dict):
        return
    yield from _choice_texts(obj, "delta")
    if str(obj.get("type", "")).endswith(".delta") and isinstance(obj.get("delta"), str):
        yield obj["delta"]  # Responses API text and argument deltas


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
