"""Where the texts and function calls are in Gemini requests and answers.

Request texts: `systemInstruction` parts, `contents[].parts[].text`, the strings inside
`functionCall.args` and `functionResponse.response`, and the function declarations'
descriptions. A `countTokens` request may wrap a whole `generateContentRequest`: walked the
same. Answer texts: `candidates[].content.parts[].text` and the strings of `functionCall.args`.
The REST API takes proto field names in either case (`systemInstruction`, `system_instruction`):
both are read, so a snake_case body is not a way around a guardrail. Parts marked `thought` pass
untouched in answers, as Anthropic's thinking blocks do. Odd-typed bodies are walked as far as
they make sense and never raise.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade.providers.base import Path, Slot, ToolCallSlot
from palisade.providers.json_strings import json_strings

# camelCase -> snake_case, the two spellings the API accepts.
_SNAKE = {
    "systemInstruction": "system_instruction",
    "functionCall": "function_call",
    "functionResponse": "function_response",
    "functionDeclarations": "function_declarations",
    "generateContentRequest": "generate_content_request",
}


def field(obj: dict[str, Any], name: str) -> Any:
    """`obj[name]`, else its snake_case spelling."""
    value = obj.get(name)
    if value is None and name in _SNAKE:
        return obj.get(_SNAKE[name])
    return value


def _key(obj: dict[str, Any], name: str) -> str:
    return name if name in obj or name not in _SNAKE else _SNAKE[name]


def request_texts(body: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    inner = field(body, "generateContentRequest")
    if isinstance(inner, dict):
        _request(inner, (_key(body, "generateContentRequest"),), out)
    _request(body, (), out)
    return out


# The keys of a part of text (a thought is the model's earlier text, with its signature).
_TEXT_PART_KEYS = frozenset({"text", "thought", "thoughtSignature", "thought_signature"})


def text_only(body: dict[str, Any]) -> bool:
    """No tools and no cached content, and parts of text only: no inline data or files, no
    function calls or responses, no code execution."""
    inner = field(body, "generateContentRequest")
    if isinstance(inner, dict):
        body = inner
    if body.get("tools") or body.get("cachedContent") or body.get("cached_content"):
        return False
    system = field(body, "systemInstruction")
    if system is not None and not (isinstance(system, dict) and _text_parts(system)):
        return False
    contents = body.get("contents")
    if not isinstance(contents, list):
        return False
    return all(isinstance(content, dict) and _text_parts(content) for content in contents)


def _text_parts(content: dict[str, Any]) -> bool:
    parts = content.get("parts")
    return isinstance(parts, list) and all(
        isinstance(part, dict) and part.keys() <= _TEXT_PART_KEYS for part in parts
    )


def _request(body: dict[str, Any], base: Path, out: list[Slot]) -> None:
    system = field(body, "systemInstruction")
    if isinstance(system, dict):
        at = (*base, _key(body, "systemInstruction"))
        _parts(system.get("parts"), "system", (*at, "parts"), out, {})
    contents = body.get("contents")
    if isinstance(contents, list):
        names: dict[int, str] = {}
        for i, content in enumerate(contents):
            if not isinstance(content, dict):
                continue
            role = "assistant" if content.get("role") == "model" else "user"
            _parts(content.get("parts"), role, (*base, "contents", i, "parts"), out, names)
    tools = body.get("tools")
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            declarations = field(tool, "functionDeclarations") if isinstance(tool, dict) else None
            if not isinstance(declarations, list):
                continue
            for j, declaration in enumerate(declarations):
                if isinstance(declaration, dict) and isinstance(
                    declaration.get("description"), str
                ):
                    at = (*base, "tools", i, _key(tool, "functionDeclarations"), j)
                    out.append(Slot(declaration, "description", "tool_description", at))


def _parts(parts: Any, role: str, path: Path, out: list[Slot], names: dict[int, str]) -> None:
    if not isinstance(parts, list):
        return
    for j, part in enumerate(parts):
        if not isinstance(part, dict):
            continue
        where = (*path, j)
        if isinstance(part.get("text"), str):
            out.append(Slot(part, "text", role, (*where, "text")))
            continue
        call = field(part, "functionCall")
        if isinstance(call, dict) and "args" in call:
            json_strings(
                call, "args", "tool_call", (*where, _key(part, "functionCall"), "args"), out
            )
            continue
        response = field(part, "functionResponse")
        if isinstance(response, dict) and "response" in response:
            name = response.get("name")
            at = (*where, _key(part, "functionResponse"), "response")
            tool = name if isinstance(name, str) else None
            json_strings(response, "response", "tool", at, out, tool)


def candidate_parts(obj: dict[str, Any]) -> list[tuple[int, list[Any]]]:
    """(candidate position, its parts) of an answer or a stream chunk."""
    out: list[tuple[int, list[Any]]] = []
    candidates = obj.get("candidates")
    if not isinstance(candidates, list):
        return out
    for i, candidate in enumerate(candidates):
        content = candidate.get("content") if isinstance(candidate, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            out.append((i, parts))
    return out


def answer_texts(obj: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    for i, parts in candidate_parts(obj):
        for j, part in enumerate(parts):
            if not isinstance(part, dict) or part.get("thought") is True:
                continue
            where = ("candidates", i, "content", "parts", j)
            if isinstance(part.get("text"), str):
                out.append(Slot(part, "text", "assistant", (*where, "text")))
                continue
            call = field(part, "functionCall")
            if isinstance(call, dict) and "args" in call:
                at = (*where, _key(part, "functionCall"), "args")
                json_strings(call, "args", "tool_call", at, out)
    return out


def tool_calls(obj: dict[str, Any]) -> list[ToolCallSlot]:
    out: list[ToolCallSlot] = []
    for i, parts in candidate_parts(obj):
        for j, part in enumerate(parts):
            call = field(part, "functionCall") if isinstance(part, dict) else None
            if not isinstance(call, dict):
                continue
            name = call.get("name")
            arguments = orjson.dumps(call.get("args") or {}).decode()
            where = ("candidates", i, "content", "parts", j)
            out.append(
                ToolCallSlot(parts, j, name if isinstance(name, str) else "", arguments, where)
            )
    return out


def replace_blocked(obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
    """A blocked `functionCall` part becomes a text part with the notice. Gemini ends a turn
    that calls functions with `STOP` like any other: the finish reason stays."""
    for call, notice in blocked:
        call.holder[call.position] = {"text": notice}
