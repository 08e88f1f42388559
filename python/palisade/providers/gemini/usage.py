"""Gemini usage and token counting.

`usageMetadata.promptTokenCount` is the whole prompt, its cached part
(`cachedContentTokenCount`) included, as `pricing.Usage` counts it; the tokens of tool-use
prompts (`toolUsePromptTokenCount`, Google Search and code execution) are prompt tokens too.
`candidatesTokenCount` leaves out the thinking tokens (`thoughtsTokenCount`), which `Usage`
counts in the output and again in `reasoning_tokens`. A stream repeats `usageMetadata` in its
chunks, each one the total so far: the last wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from palisade._core import count_tokens, encoding_for_model
from palisade.pricing import Usage
from palisade.providers.base import Event
from palisade.providers.gemini.shape import candidate_parts, field


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def from_metadata(meta: dict[str, Any]) -> Usage | None:
    if "promptTokenCount" not in meta and "candidatesTokenCount" not in meta:
        return None
    thoughts = _int(meta.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=_int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount")),
        output_tokens=_int(meta.get("candidatesTokenCount")) + thoughts,
        cached_tokens=_int(meta.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
    )


def usage_of(obj: dict[str, Any]) -> Usage | None:
    meta = obj.get("usageMetadata")
    return from_metadata(meta) if isinstance(meta, dict) else None


def prompt_tokens(body: dict[str, Any], model: str) -> int:
    """The texts of the prompt, function calls, responses and declarations included, by the
    tokenizer the gateway has for the model: Gemini's own is not public, so `encoding_for_model`
    gives o200k_base, an estimate (the provider's `usageMetadata` wins when it reports one)."""
    texts: list[str] = []
    inner = field(body, "generateContentRequest")
    if isinstance(inner, dict):
        _request_texts(inner, texts)
    _request_texts(body, texts)
    if not texts:
        return 0
    return count_tokens("\n".join(texts), encoding_for_model(model))


def _request_texts(body: dict[str, Any], texts: list[str]) -> None:
    system = field(body, "systemInstruction")
    if isinstance(system, dict):
        _part_texts(system.get("parts"), texts)
    contents = body.get("contents")
    if isinstance(contents, list):
        for content in contents:
            if isinstance(content, dict):
                _part_texts(content.get("parts"), texts)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        texts.append(orjson.dumps(tools).decode())


def _part_texts(parts: Any, out: list[str]) -> None:
    if not isinstance(parts, list):
        return
    for part in parts:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            out.append(part["text"])
            continue
        call = field(part, "functionCall")
        if isinstance(call, dict):
            out.append(orjson.dumps(call).decode())
            continue
        response = field(part, "functionResponse")
        if isinstance(response, dict):
            out.append(orjson.dumps(response).decode())


def max_output_tokens(body: dict[str, Any], default: int) -> int:
    config = field(body, "generationConfig") or body.get("generation_config")
    if not isinstance(config, dict):
        return default
    value = config.get("maxOutputTokens", config.get("max_output_tokens"))
    count = config.get("candidateCount", config.get("candidate_count"))
    n = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value * n
    return default * n


def answer_texts(obj: dict[str, Any]) -> Iterator[str]:
    for _, parts in candidate_parts(obj):
        for part in parts:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                yield part["text"]
            else:
                call = field(part, "functionCall")
                if isinstance(call, dict):
                    yield orjson.dumps(call.get("args") or {}).decode()


def event_texts(event: Event) -> Iterator[str]:
    obj = event[1]
    if isinstance(obj, dict):
        yield from answer_texts(obj)
