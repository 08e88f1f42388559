"""Where the texts, tool calls and usage sit in Ollama's chat bodies: `messages[].content`
(strings), `tool_calls[].function.arguments` (objects, not strings), the answer's `message`, and
the counts of the last object (`prompt_eval_count`, `eval_count`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from palisade.pricing import Usage
from palisade.providers.base import Slot, ToolCallSlot


def request_texts(body: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    messages = body.get("messages")
    if not isinstance(messages, list):
        return out
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            continue
        role = message.get("role")
        role = role if isinstance(role, str) else "user"
        tool = message.get("tool_name") if role == "tool" else None
        out.append(
            Slot(message, "content", role, ("messages", i, "content"), tool if tool else None)
        )
    return out


def text_only(body: dict[str, Any]) -> bool:
    """No tools, no tool turns, and no images."""
    if body.get("tools"):
        return False
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    for message in messages:
        if not isinstance(message, dict) or message.get("role") == "tool":
            return False
        if message.get("images") or message.get("tool_calls"):
            return False
    return True


def answer_texts(obj: dict[str, Any]) -> list[Slot]:
    message = obj.get("message")
    if isinstance(message, dict) and isinstance(message.get("content"), str):
        return [Slot(message, "content", "assistant", ("message", "content"))]
    return []


def tool_calls(obj: dict[str, Any]) -> list[ToolCallSlot]:
    message = obj.get("message")
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    if not isinstance(calls, list):
        return []
    out = []
    for j, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            name = fn.get("name")
            out.append(
                ToolCallSlot(
                    calls,
                    j,
                    name if isinstance(name, str) else "",
                    arguments_text(fn.get("arguments")),
                    ("message", "tool_calls", j),
                )
            )
    return out


def arguments_text(arguments: object) -> str:
    """Ollama's arguments are an object; policies judge them as JSON text."""
    if isinstance(arguments, str):
        return arguments
    return orjson.dumps(arguments if arguments is not None else {}).decode()


def replace_blocked(obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
    message = obj["message"]
    for call, notice in reversed(blocked):
        del call.holder[call.position]
        content = message.get("content")
        message["content"] = f"{content}\n\n{notice}" if content else notice
    if not message.get("tool_calls"):
        message.pop("tool_calls", None)


def output_texts(obj: dict[str, Any]) -> Iterator[str]:
    message = obj.get("message")
    if isinstance(message, dict):
        content = message.get("content")
        if isinstance(content, str) and content:
            yield content
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    yield arguments_text(fn.get("arguments"))


def usage(obj: dict[str, Any]) -> Usage | None:
    """The counts of a finished answer (the last object of a stream)."""
    if not obj.get("done"):
        return None
    prompt, output = obj.get("prompt_eval_count"), obj.get("eval_count")
    if not isinstance(prompt, int) and not isinstance(output, int):
        return None
    return Usage(prompt if isinstance(prompt, int) else 0, output if isinstance(output, int) else 0)
