"""Where the texts and tool calls are in Anthropic Messages requests and answers.

Request texts: `system` (a string or text blocks), text blocks, the strings inside `tool_use`
inputs, `tool_result` contents (a string or text blocks), text documents, tool descriptions.
`thinking` and `redacted_thinking` blocks are never touched: their signatures cover them, and a
changed one is refused by the provider on the next turn. Odd-typed bodies are walked as far as
they make sense and never raise.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade.providers.base import Path, Slot, ToolCallSlot
from palisade.providers.json_strings import json_strings


def request_texts(body: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    system = body.get("system")
    if isinstance(system, str):
        out.append(Slot(body, "system", "system", ("system",)))
    elif isinstance(system, list):
        _blocks(system, "system", ("system",), out, {})
    messages = body.get("messages")
    if isinstance(messages, list):
        names: dict[str, str] = {}
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            role = role if isinstance(role, str) else "user"
            content = message.get("content")
            if isinstance(content, str):
                out.append(Slot(message, "content", role, ("messages", i, "content")))
            elif isinstance(content, list):
                _blocks(content, role, ("messages", i, "content"), out, names)
    tools = body.get("tools")
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            if isinstance(tool, dict) and isinstance(tool.get("description"), str):
                out.append(Slot(tool, "description", "tool_description", ("tools", i)))
    return out


# Thinking blocks are the model's earlier text, signed.
_TEXT_BLOCKS = frozenset({"text", "thinking", "redacted_thinking"})


def text_only(body: dict[str, Any]) -> bool:
    """No tools or MCP servers, no container, and text (or thinking) blocks only: no images,
    documents, tool uses or results."""
    if body.get("tools") or body.get("mcp_servers") or body.get("container"):
        return False
    system = body.get("system")
    if not (system is None or isinstance(system, str) or _text_blocks(system)):
        return False
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not (isinstance(content, str) or _text_blocks(content)):
            return False
    return True


def _text_blocks(blocks: object) -> bool:
    return isinstance(blocks, list) and all(
        isinstance(b, dict) and b.get("type") in _TEXT_BLOCKS for b in blocks
    )


def _blocks(
    blocks: list[Any], role: str, path: Path, out: list[Slot], names: dict[str, str]
) -> None:
    for j, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        where = (*path, j)
        if kind == "text" and isinstance(block.get("text"), str):
            out.append(Slot(block, "text", role, (*where, "text")))
        elif kind == "tool_use":
            if isinstance(block.get("id"), str) and isinstance(block.get("name"), str):
                names[block["id"]] = block["name"]
            json_strings(block, "input", "tool_call", (*where, "input"), out)
        elif kind == "tool_result":
            tool_id = block.get("tool_use_id")
            tool = names.get(tool_id) if isinstance(tool_id, str) else None
            content = block.get("content")
            if isinstance(content, str):
                out.append(Slot(block, "content", "tool", (*where, "content"), tool))
            elif isinstance(content, list):
                for k, part in enumerate(content):
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        at = (*where, "content", k, "text")
                        out.append(Slot(part, "text", "tool", at, tool))
        elif kind == "document":
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "text":
                if isinstance(source.get("data"), str):
                    out.append(Slot(source, "data", role, (*where, "source", "data")))
            elif isinstance(source, dict) and isinstance(source.get("content"), list):
                _blocks(source["content"], role, (*where, "source", "content"), out, names)


def answer_texts(obj: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    for j, block in enumerate(_list(obj.get("content"))):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            out.append(Slot(block, "text", "assistant", ("content", j, "text")))
        elif kind == "tool_use" and "input" in block:
            json_strings(block, "input", "tool_call", ("content", j, "input"), out)
    return out


def tool_calls(obj: dict[str, Any]) -> list[ToolCallSlot]:
    out: list[ToolCallSlot] = []
    content = obj.get("content")
    if not isinstance(content, list):
        return out
    for j, block in enumerate(content):
        if isinstance(block, dict) and block.get("type") == "tool_use":
            name = block.get("name")
            arguments = orjson.dumps(block.get("input", {})).decode()
            out.append(
                ToolCallSlot(
                    content, j, name if isinstance(name, str) else "", arguments, ("content", j)
                )
            )
    return out


def replace_blocked(obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
    """A blocked `tool_use` becomes a text block with the notice; with no call left, the turn
    ends as a plain answer (`stop_reason` `end_turn`)."""
    for call, notice in blocked:
        call.holder[call.position] = {"type": "text", "text": notice}
    content = obj.get("content")
    calls_left = isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_use" for b in content
    )
    if not calls_left and obj.get("stop_reason") == "tool_use":
        obj["stop_reason"] = "end_turn"


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
