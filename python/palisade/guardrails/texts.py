"""Where the texts are in a request or an answer, for every API surface.

Each text is yielded as a slot: the container that holds it and the key under which it sits, so
that a guardrail can replace it in place; its role (whose words they are, which decides the
checks that apply); and its path for decisions. Odd-typed bodies are walked as far as they make
sense and never raise: the provider rejects what is malformed, the gateway only reads texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

Path = tuple[str | int, ...]


class Slot(NamedTuple):
    container: Any  # dict or list
    key: Any  # str or int
    role: str  # user | system | assistant | tool | tool_call | tool_description | developer
    path: Path
    tool: str | None = None  # tool results: the name of the tool that produced them

    @property
    def text(self) -> str:
        value: str = self.container[self.key]
        return value


def request_texts(body: dict[str, Any], endpoint: str) -> Iterator[Slot]:
    if endpoint == "chat/completions":
        yield from _chat_request(body)
    elif endpoint == "responses":
        yield from _responses_request(body)
    elif endpoint == "completions":
        yield from _strings(body, "prompt", "user")
    elif endpoint == "embeddings":
        yield from _strings(body, "input", "user")


def _chat_request(body: dict[str, Any]) -> Iterator[Slot]:
    messages = body.get("messages")
    if isinstance(messages, list):
        names = _tool_call_names(messages)
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            role = role if isinstance(role, str) else "user"
            tool = names.get(_id(message.get("tool_call_id"))) if role == "tool" else None
            yield from _content(message, "content", role, ("messages", i), tool)
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                for j, call in enumerate(calls):
                    fn = call.get("function") if isinstance(call, dict) else None
                    if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                        path = ("messages", i, "tool_calls", j, "function", "arguments")
                        yield Slot(fn, "arguments", "tool_call", path)
    yield from _tool_descriptions(body)


def _responses_request(body: dict[str, Any]) -> Iterator[Slot]:
    if isinstance(body.get("instructions"), str):
        yield Slot(body, "instructions", "system", ("instructions",))
    items = body.get("input")
    if isinstance(items, str):
        yield Slot(body, "input", "user", ("input",))
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
                yield from _content(item, "output", "tool", ("input", i), _name(tool))
            elif kind == "function_call":
                if isinstance(item.get("arguments"), str):
                    yield Slot(item, "arguments", "tool_call", ("input", i, "arguments"))
            else:
                role = item.get("role")
                role = role if isinstance(role, str) else "user"
                yield from _content(item, "content", role, ("input", i))
    yield from _tool_descriptions(body)


def _content(
    holder: dict[str, Any], key: str, role: str, path: Path, tool: str | None = None
) -> Iterator[Slot]:
    """A message's content: a string, or an array of parts whose text parts are scanned."""
    content = holder.get(key)
    if isinstance(content, str):
        yield Slot(holder, key, role, (*path, key), tool)
    elif isinstance(content, list):
        for k, part in enumerate(content):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield Slot(part, "text", role, (*path, key, k, "text"), tool)
            elif isinstance(part, str):
                yield Slot(content, k, role, (*path, key, k), tool)


def _tool_descriptions(body: dict[str, Any]) -> Iterator[Slot]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        fn = tool.get("function")
        if isinstance(fn, dict):  # chat: {"type": "function", "function": {...}}
            if isinstance(fn.get("description"), str):
                yield Slot(fn, "description", "tool_description", ("tools", i, "function"))
        elif isinstance(tool.get("description"), str):  # Responses: flat
            yield Slot(tool, "description", "tool_description", ("tools", i, "description"))


def _strings(body: dict[str, Any], key: str, role: str) -> Iterator[Slot]:
    value = body.get(key)
    if isinstance(value, str):
        yield Slot(body, key, role, (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield Slot(value, i, role, (key, i))


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


class ToolCallSlot(NamedTuple):
    """A tool call in an answer: `holder[key]` is the call list (chat) or the output list
    (Responses), `position` the call's place in it."""

    holder: list[Any]
    position: int
    name: str
    arguments: str
    path: Path


def answer_texts(obj: dict[str, Any], endpoint: str) -> Iterator[Slot]:
    if endpoint == "chat/completions":
        for i, choice in enumerate(_list(obj.get("choices"))):
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(message, dict):
                continue
            yield from _content(message, "content", "assistant", ("choices", i, "message"))
            if isinstance(message.get("refusal"), str):
                yield Slot(message, "refusal", "assistant", ("choices", i, "message", "refusal"))
            for j, call in enumerate(_list(message.get("tool_calls"))):
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    path = ("choices", i, "message", "tool_calls", j, "function", "arguments")
                    yield Slot(fn, "arguments", "tool_call", path)
    elif endpoint == "completions":
        for i, choice in enumerate(_list(obj.get("choices"))):
            if isinstance(choice, dict) and isinstance(choice.get("text"), str):
                yield Slot(choice, "text", "assistant", ("choices", i, "text"))
    elif endpoint == "responses":
        for i, item in enumerate(_list(obj.get("output"))):
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call" and isinstance(item.get("arguments"), str):
                yield Slot(item, "arguments", "tool_call", ("output", i, "arguments"))
            else:
                yield from _content(item, "content", "assistant", ("output", i))


def answer_tool_calls(obj: dict[str, Any], endpoint: str) -> Iterator[ToolCallSlot]:
    if endpoint == "chat/completions":
        for i, choice in enumerate(_list(obj.get("choices"))):
            message = choice.get("message") if isinstance(choice, dict) else None
            calls = message.get("tool_calls") if isinstance(message, dict) else None
            if not isinstance(calls, list):
                continue
            for j, call in enumerate(calls):
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    path = ("choices", i, "message", "tool_calls", j)
                    yield ToolCallSlot(
                        calls, j, _str(fn.get("name")), _str(fn.get("arguments")), path
                    )
    elif endpoint == "responses":
        output = obj.get("output")
        if isinstance(output, list):
            for i, item in enumerate(output):
                if isinstance(item, dict) and item.get("type") == "function_call":
                    name, arguments = _str(item.get("name")), _str(item.get("arguments"))
                    yield ToolCallSlot(output, i, name, arguments, ("output", i))


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
