"""Where the texts and tool calls are in Cohere v2 chat and embed requests and answers.

Chat request texts: each message's `content` (a string, or parts whose `text` is read; a tool
message's `document` parts, whose data is a string or an object of strings), assistant
`tool_plan`s and `tool_calls[].function.arguments`, the request's `documents` (strings, or
objects whose `data` holds strings), tool descriptions. Embed: `texts`, and the `text` parts of
`inputs`. Answers: `message.content[]` text (and thinking), `message.tool_plan`, and tool call
arguments; `citations` are left as they are (their offsets point into the provider's text).
Odd-typed bodies are walked as far as they make sense and never raise.
"""

from __future__ import annotations

from typing import Any

from palisade.providers.base import Path, Slot, ToolCallSlot
from palisade.providers.json_strings import json_strings


def request_texts(body: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    messages = body.get("messages")
    if isinstance(messages, list):
        names: dict[str, str] = {}
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            role = role if isinstance(role, str) else "user"
            where: Path = ("messages", i)
            tool = None
            if role == "tool":
                call_id = message.get("tool_call_id")
                tool = names.get(call_id) if isinstance(call_id, str) else None
            _content(message, role, where, out, tool)
            if isinstance(message.get("tool_plan"), str):
                out.append(Slot(message, "tool_plan", role, (*where, "tool_plan")))
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                for j, call in enumerate(calls):
                    fn = call.get("function") if isinstance(call, dict) else None
                    if not isinstance(fn, dict):
                        continue
                    if isinstance(call.get("id"), str) and isinstance(fn.get("name"), str):
                        names[call["id"]] = fn["name"]
                    if isinstance(fn.get("arguments"), str):
                        path = (*where, "tool_calls", j, "function", "arguments")
                        out.append(Slot(fn, "arguments", "tool_call", path))
    documents = body.get("documents")
    if isinstance(documents, list):
        for i, document in enumerate(documents):
            if isinstance(document, str):
                out.append(Slot(documents, i, "user", ("documents", i)))
            elif isinstance(document, dict) and "data" in document:
                json_strings(document, "data", "user", ("documents", i, "data"), out, None)
    tools = body.get("tools")
    if isinstance(tools, list):
        for i, spec in enumerate(tools):
            fn = spec.get("function") if isinstance(spec, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("description"), str):
                out.append(Slot(fn, "description", "tool_description", ("tools", i, "function")))
    return out


def text_only(body: dict[str, Any]) -> bool:
    """No tools and no documents, no tool turns, and text parts only (no images)."""
    if body.get("tools") or body.get("documents"):
        return False
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    for message in messages:
        if not isinstance(message, dict) or message.get("role") == "tool":
            return False
        if message.get("tool_calls") or message.get("tool_plan"):
            return False
        content = message.get("content")
        if not (
            content is None
            or isinstance(content, str)
            or (
                isinstance(content, list)
                and all(isinstance(p, dict) and p.get("type") == "text" for p in content)
            )
        ):
            return False
    return True


def _content(
    message: dict[str, Any], role: str, where: Path, out: list[Slot], tool: str | None
) -> None:
    content = message.get("content")
    if isinstance(content, str):
        out.append(Slot(message, "content", role, (*where, "content"), tool))
        return
    if not isinstance(content, list):
        return
    for k, part in enumerate(content):
        if not isinstance(part, dict):
            continue
        at = (*where, "content", k)
        if isinstance(part.get("text"), str):
            out.append(Slot(part, "text", role, (*at, "text"), tool))
        elif part.get("type") == "document":
            document = part.get("document")
            if isinstance(document, dict) and "data" in document:
                json_strings(document, "data", role, (*at, "document", "data"), out, tool)


def embed_request(body: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    texts = body.get("texts")
    if isinstance(texts, list):
        for i, text in enumerate(texts):
            if isinstance(text, str):
                out.append(Slot(texts, i, "user", ("texts", i)))
    inputs = body.get("inputs")
    if isinstance(inputs, list):
        for i, item in enumerate(inputs):
            content = item.get("content") if isinstance(item, dict) else None
            if not isinstance(content, list):
                continue
            for k, part in enumerate(content):
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    out.append(Slot(part, "text", "user", ("inputs", i, "content", k, "text")))
    return out


# --- answers ---------------------------------------------------------------------------------


def answer_texts(obj: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    message = obj.get("message")
    if not isinstance(message, dict):
        return out
    for j, part in enumerate(_list(message.get("content"))):
        if not isinstance(part, dict):
            continue
        for key in ("text", "thinking"):
            if isinstance(part.get(key), str):
                out.append(Slot(part, key, "assistant", ("message", "content", j, key)))
    if isinstance(message.get("tool_plan"), str):
        out.append(Slot(message, "tool_plan", "assistant", ("message", "tool_plan")))
    for j, call in enumerate(_list(message.get("tool_calls"))):
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
            path = ("message", "tool_calls", j, "function", "arguments")
            out.append(Slot(fn, "arguments", "tool_call", path))
    return out


def tool_calls(obj: dict[str, Any]) -> list[ToolCallSlot]:
    out: list[ToolCallSlot] = []
    message = obj.get("message")
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    if not isinstance(calls, list):
        return out
    for j, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            name, arguments = fn.get("name"), fn.get("arguments")
            out.append(
                ToolCallSlot(
                    calls,
                    j,
                    name if isinstance(name, str) else "",
                    arguments if isinstance(arguments, str) else "",
                    ("message", "tool_calls", j),
                )
            )
    return out


def replace_blocked(obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
    """A blocked call leaves `tool_calls`, and its notice becomes a text part of the message;
    with no call left, the turn ends as a plain answer (`finish_reason` `COMPLETE`)."""
    message = obj["message"]
    notices: list[dict[str, Any]] = []
    for call, notice in sorted(blocked, key=lambda b: b[0].position, reverse=True):
        del call.holder[call.position]
        notices.append({"type": "text", "text": notice})
    content = message.get("content")
    message["content"] = [*(content if isinstance(content, list) else []), *reversed(notices)]
    if not message.get("tool_calls"):
        message.pop("tool_calls", None)
        if obj.get("finish_reason") == "TOOL_CALL":
            obj["finish_reason"] = "COMPLETE"


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
