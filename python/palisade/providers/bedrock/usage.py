"""Bedrock Converse usage and token counting.

Converse's `usage` counts `inputTokens` without the cache reads and writes, which it reports
apart (`cacheReadInputTokens`, `cacheWriteInputTokens`); `Usage` counts the whole prompt. A
stream reports its usage once, in its last event (`metadata`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from palisade._core import count_tokens, encoding_for_model
from palisade.pricing import Usage
from palisade.providers.base import Event


def from_converse(usage: object) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    return Usage.from_provider(
        {
            "input_tokens": usage.get("inputTokens"),
            "output_tokens": usage.get("outputTokens"),
            "cache_read_input_tokens": usage.get("cacheReadInputTokens"),
            "cache_creation_input_tokens": usage.get("cacheWriteInputTokens"),
        }
    )


def usage_of(obj: dict[str, Any]) -> Usage | None:
    return from_converse(obj.get("usage"))


def prompt_tokens(body: dict[str, Any], model: str) -> int:
    """The texts of the prompt, tool calls and tool definitions included, by the tokenizer the
    gateway has for the model (the providers' own are not public: an estimate)."""
    texts: list[str] = []
    system = body.get("system")
    if isinstance(system, list):
        _block_texts(system, texts)
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):
                _block_texts(content, texts)
    config = body.get("toolConfig")
    if isinstance(config, dict) and config.get("tools"):
        texts.append(orjson.dumps(config["tools"]).decode())
    if not texts:
        return 0
    return count_tokens("\n".join(texts), encoding_for_model(model))


def _block_texts(blocks: list[Any], out: list[str]) -> None:
    for block in blocks:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            out.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            out.append(orjson.dumps(block["toolUse"].get("input", {})).decode())
        elif isinstance(block.get("toolResult"), dict):
            content = block["toolResult"].get("content")
            if isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        out.append(part["text"])
                    elif isinstance(part, dict) and "json" in part:
                        out.append(orjson.dumps(part["json"]).decode())


def max_output_tokens(body: dict[str, Any], default: int) -> int:
    config = body.get("inferenceConfig")
    value = config.get("maxTokens") if isinstance(config, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def answer_texts(obj: dict[str, Any]) -> Iterator[str]:
    output = obj.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict):
            if isinstance(block.get("text"), str):
                yield block["text"]
            elif isinstance(block.get("toolUse"), dict):
                yield orjson.dumps(block["toolUse"].get("input", {})).decode()


def event_texts(event: Event) -> Iterator[str]:
    name, data = event
    if name != "contentBlockDelta" or not isinstance(data, dict):
        return
    delta = data.get("delta")
    if not isinstance(delta, dict):
        return
    if isinstance(delta.get("text"), str):
        yield delta["text"]
    use = delta.get("toolUse")
    if isinstance(use, dict) and isinstance(use.get("input"), str):
        yield use["input"]
