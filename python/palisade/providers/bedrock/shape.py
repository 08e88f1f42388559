"""Where the texts and tool calls are in Bedrock Converse requests and answers.

Request texts: `system[].text`, `messages[].content[].text`, the strings inside `toolUse.input`,
`toolResult.content[].text` (and strings inside its `json`), text documents, and tool spec
descriptions. `reasoningContent` blocks are never touched (their signature covers them).
Answers: `output.message.content[]`: `text` and `toolUse` blocks. Odd-typed bodies are walked
as far as they make sense and never raise.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade.providers.base import Path, Slot, ToolCallSlot
from palisade.providers.json_strings import json_strings


def request_texts(body: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    system = body.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                out.append(Slot(block, "text", "system", ("system", i, "text")))
    messages = body.get("messages")
    if isinstance(messages, list):
        names: dict[str, str] = {}
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            role = role if isinstance(role, str) else "user"
            content = message.get("content")
            if isinstance(content, list):
                _blocks(content, role, ("messages", i, "content"), out, names)
    config = body.get("toolConfig")
    tools = config.get("tools") if isinstance(config, dict) else None
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            spec = tool.get("toolSpec") if isinstance(tool, dict) else None
            if isinstance(spec, dict) and isinstance(spec.get("description"), str):
                where = ("toolConfig", "tools", i, "toolSpec")
                out.append(Slot(spec, "description", "tool_description", where))
    return out


# Content blocks are objects of one key; these hold text (or the model's signed reasoning).
_TEXT_BLOCK_KEYS = frozenset({"text", "reasoningContent", "cachePoint"})


def text_only(body: dict[str, Any]) -> bool:
    """No tools, and text blocks only: no images, documents, videos, tool uses or results."""
    config = body.get("toolConfig")
    if isinstance(config, dict) and config.get("tools"):
        return False
    system = body.get("system")
    if system is not None and not _text_blocks(system):
        return False
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    return all(isinstance(m, dict) and _text_blocks(m.get("content")) for m in messages)


def _text_blocks(blocks: object) -> bool:
    return isinstance(blocks, list) and all(
        isinstance(b, dict) and b.keys() <= _TEXT_BLOCK_KEYS for b in blocks
    )


def _blocks(
    blocks: list[Any], role: str, path: Path, out: list[Slot], names: dict[str, str]
) -> None:
    for j, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        where = (*path, j)
        if isinstance(block.get("text"), str):
            out.append(Slot(block, "text", role, (*where, "text")))
            continue
        use = block.get("toolUse")
        if isinstance(use, dict):
            if isinstance(use.get("toolUseId"), str) and isinstance(use.get("name"), str):
                names[use["toolUseId"]] = use["name"]
            if "input" in use:
                json_strings(use, "input", "tool_call", (*where, "toolUse", "input"), out)
            continue
        result = block.get("toolResult")
        if isinstance(result, dict):
            tool_id = result.get("toolUseId")
            tool = names.get(tool_id) if isinstance(tool_id, str) else None
            content = result.get("content")
            if isinstance(content, list):
                for k, part in enumerate(content):
                    if not isinstance(part, dict):
                        continue
                    at = (*where, "toolResult", "content", k)
                    if isinstance(part.get("text"), str):
                        out.append(Slot(part, "text", "tool", (*at, "text"), tool))
                    elif "json" in part:
                        json_strings(part, "json", "tool", (*at, "json"), out, tool)
            continue
        document = block.get("document")
        if isinstance(document, dict):
            source = document.get("source")
            if isinstance(source, dict) and isinstance(source.get("text"), str):
                out.append(Slot(source, "text", role, (*where, "document", "source", "text")))


def _content(obj: dict[str, Any]) -> list[Any] | None:
    output = obj.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else None


_ANSWER: Path = ("output", "message", "content")


def answer_texts(obj: dict[str, Any]) -> list[Slot]:
    out: list[Slot] = []
    for j, block in enumerate(_content(obj) or ()):
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            out.append(Slot(block, "text", "assistant", (*_ANSWER, j, "text")))
        use = block.get("toolUse")
        if isinstance(use, dict) and "input" in use:
            json_strings(use, "input", "tool_call", (*_ANSWER, j, "toolUse", "input"), out)
    return out


def tool_calls(obj: dict[str, Any]) -> list[ToolCallSlot]:
    out: list[ToolCallSlot] = []
    content = _content(obj)
    if content is None:
        return out
    for j, block in enumerate(content):
        use = block.get("toolUse") if isinstance(block, dict) else None
        if isinstance(use, dict):
            name = use.get("name")
            arguments = orjson.dumps(use.get("input", {})).decode()
            out.append(
                ToolCallSlot(
                    content, j, name if isinstance(name, str) else "", arguments, (*_ANSWER, j)
                )
            )
    return out


def replace_blocked(obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
    """A blocked `toolUse` becomes a text block with the notice; with no call left, the turn
    ends as a plain answer (`stopReason` `end_turn`)."""
    for call, notice in blocked:
        call.holder[call.position] = {"text": notice}
    content = _content(obj) or []
    calls_left = any(isinstance(b, dict) and "toolUse" in b for b in content)
    if not calls_left and obj.get("stopReason") == "tool_use":
        obj["stopReason"] = "end_turn"
