"""Where the texts and tool calls are in OpenAI requests and answers, one walker per endpoint.

Each text is a slot: the container that holds it and the key under which it sits, so that a
guardrail can replace it in place; its role (whose words they are, which decides the checks that
apply); and its path for decisions. Odd-typed bodies are walked as far as they make sense and
never raise: the provider rejects what is malformed, the gateway only reads texts. Lists, not
generators: a request has a handful of texts, and a chain of `yield from` costs more per text
than the walk itself.
"""

from __future__ import annotations

from typing import Any

from palisade.providers.base import Path, Slot, ToolCallSlot


def chat_request(body: dict[str, Any], out: list[Slot]) -> None:
    messages = body.get("messages")
    if isinstance(messages, list):
        names = _tool_call_names(messages)
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            role = role if isinstance(role, str) else "user"
            tool = names.get(_id(message.get("tool_call_id"))) if role == "tool" else None
            _content(message, "content", role, ("messages", i), out, tool)
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                for j, call in enumerate(calls):
                    fn = call.get("function") if isinstance(call, dict) else None
                    if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                        path = ("messages", i, "tool_calls", j, "function", "arguments")
                        out.append(Slot(fn, "arguments", "tool_call", path))
    _tool_descriptions(body, out)


def responses_request(body: dict[str, Any], out: list[Slot]) -> None:
    if isinstance(body.get("instructions"), str):
        out.append(Slot(body, "instructions", "system", ("instructions",)))
    items = body.get("input")
    if isinstance(items, str):
        out.append(Slot(body, "input", "user", ("input",)))
    elif isinstance(items, list):
        names = {
            _id(item.get("call_id")): item.get("name")
            for item in items
            if isinstance(item, dict) and item.get("type") == "function_call"
        }
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind == "function_call_output":
                tool = names.get(_id(item.get("call_id")))
                _content(item, "output", "tool", ("input", i), out, _name(tool))
            elif kind == "function_call":
                if isinstance(item.get("arguments"), str):
                    out.append(Slot(item, "arguments", "tool_call", ("input", i, "arguments")))
            else:
                role = item.get("role")
                role = role if isinstance(role, str) else "user"
                _content(item, "content", role, ("input", i), out)
    _tool_descriptions(body, out)


# Content parts of text: chat's `text`, the Responses API's `input_text` and `output_text`.
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def chat_text_only(body: dict[str, Any]) -> bool:
    """No tools or functions offered, no tool turns, no audio, and text parts only."""
    if body.get("tools") or body.get("functions") or body.get("audio"):
        return False
    modalities = body.get("modalities")
    if modalities is not None and modalities != ["text"]:
        return False
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    for message in messages:
        if not isinstance(message, dict) or message.get("role") in ("tool", "function"):
            return False
        if message.get("tool_calls") or message.get("function_call") or message.get("audio"):
            return False
        if not _text_parts(message.get("content")):
            return False
    return True


def responses_text_only(body: dict[str, Any]) -> bool:
    """No tools, no stored conversation or prompt template, and messages of text parts."""
    if body.get("tools") or body.get("previous_response_id") or body.get("conversation"):
        return False
    if body.get("prompt"):
        return False
    items = body.get("input")
    if items is None or isinstance(items, str):
        return True
    if not isinstance(items, list):
        return False
    for item in items:
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            return False
        if not _text_parts(item.get("content")):
            return False
    return True


def _text_parts(content: object) -> bool:
    if content is None or isinstance(content, str):
        return True
    if not isinstance(content, list):
        return False
    return all(
        isinstance(part, str) or (isinstance(part, dict) and part.get("type") in _TEXT_PARTS)
        for part in content
    )


def _content(
    holder: dict[str, Any],
    key: str,
    role: str,
    path: Path,
    out: list[Slot],
    tool: str | None = None,
) -> None:
    """A message's content: a string, or an array of parts whose text parts are scanned."""
    content = holder.get(key)
    if isinstance(content, str):
        out.append(Slot(holder, key, role, (*path, key), tool))
    elif isinstance(content, list):
        for k, part in enumerate(content):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(Slot(part, "text", role, (*path, key, k, "text"), tool))
            elif isinstance(part, str):
                out.append(Slot(content, k, role, (*path, key, k), tool))


def _tool_descriptions(body: dict[str, Any], out: list[Slot]) -> None:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        fn = tool.get("function")
        if isinstance(fn, dict):  # chat: {"type": "function", "function": {...}}
            if isinstance(fn.get("description"), str):
                out.append(Slot(fn, "description", "tool_description", ("tools", i, "function")))
        elif isinstance(tool.get("description"), str):  # Responses: flat
            out.append(Slot(tool, "description", "tool_description", ("tools", i, "description")))


def strings(body: dict[str, Any], key: str, role: str, out: list[Slot]) -> None:
    value = body.get(key)
    if isinstance(value, str):
        out.append(Slot(body, key, role, (key,)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(Slot(value, i, role, (key, i)))


def _tool_call_names(messages: list[Any]) -> dict[str | None, str]:
    names: dict[str | None, str] = {}
    for message in messages:
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if not isinstance(calls, list):
            continue
        for call in calls:
            if not isinstance(call, dict):
                continue
            fn = call.get("function")
            name = fn.get("name") if isinstance(fn, dict) else None
            if isinstance(name, str):
                names[_id(call.get("id"))] = name
    return names


def _id(value: object) -> str | None:
    """An id to look a tool name up by; ids of odd types (lists, objects) name nothing."""
    return value if isinstance(value, str) else None


def _name(value: object) -> str | None:
    return value if isinstance(value, str) else None


# --- answers ---------------------------------------------------------------------------------


def chat_answer(obj: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    for i, choice in enumerate(_list(obj.get("choices"))):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        _content(message, "content", "assistant", ("choices", i, "message"), out)
        if isinstance(message.get("refusal"), str):
            where: Path = ("choices", i, "message", "refusal")
            out.append(Slot(message, "refusal", "assistant", where))
        for j, call in enumerate(_list(message.get("tool_calls"))):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                path = ("choices", i, "message", "tool_calls", j, "function", "arguments")
                out.append(Slot(fn, "arguments", "tool_call", path))
    return out


def completions_answer(obj: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    for i, choice in enumerate(_list(obj.get("choices"))):
        if isinstance(choice, dict) and isinstance(choice.get("text"), str):
            out.append(Slot(choice, "text", "assistant", ("choices", i, "text")))
    return out


def responses_answer(obj: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    for i, item in enumerate(_list(obj.get("output"))):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call" and isinstance(item.get("arguments"), str):
            out.append(Slot(item, "arguments", "tool_call", ("output", i, "arguments")))
        else:
            _content(item, "content", "assistant", ("output", i), out)
    return out


def chat_tool_calls(obj: dict[str, Any]) -> list[ToolCallSlot]:
    out: list[ToolCallSlot] = []
    for i, choice in enumerate(_list(obj.get("choices"))):
        message = choice.get("message") if isinstance(choice, dict) else None
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if not isinstance(calls, list):
            continue
        for j, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                path = ("choices", i, "message", "tool_calls", j)
                out.append(
                    ToolCallSlot(calls, j, _str(fn.get("name")), _str(fn.get("arguments")), path)
                )
    return out


def responses_tool_calls(obj: dict[str, Any]) -> list[ToolCallSlot]:
    out: list[ToolCallSlot] = []
    output = obj.get("output")
    if isinstance(output, list):
        for i, item in enumerate(output):
            if isinstance(item, dict) and item.get("type") == "function_call":
                name, arguments = _str(item.get("name")), _str(item.get("arguments"))
                out.append(ToolCallSlot(output, i, name, arguments, ("output", i)))
    return out


def chat_replace_blocked(obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
    for call, notice in reversed(blocked):
        del call.holder[call.position]
        choice = obj["choices"][call.path[1]]
        message = choice["message"]
        content = message.get("content")
        message["content"] = (
            f"{content}\n\n{notice}" if isinstance(content, str) and content else notice
        )
        if not call.holder:
            message.pop("tool_calls", None)
            if choice.get("finish_reason") == "tool_calls":
                choice["finish_reason"] = "stop"


def responses_replace_blocked(obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
    for call, notice in blocked:
        call.holder[call.position] = message_item(call.position, notice)


def message_item(index: int, notice: str) -> dict[str, Any]:
    """A Responses output message that holds a notice (in the place of a blocked call)."""
    return {
        "type": "message",
        "id": f"msg_palisade_{index}",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": notice, "annotations": []}],
    }


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
