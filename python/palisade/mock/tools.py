"""Which tool calls to answer with, and deterministic arguments built from a JSON schema.

The mock calls tools only when told to: `tool_choice` is `"required"` or names a function, or the
`mock.tool_calls` knob lists the calls (for `mock.tool_rounds` tool-calling turns of a
conversation, when set). Under `"auto"` it answers with text, so a test always knows which of the
two it gets.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade.mock.content import seed
from palisade.mock.errors import InvalidRequest
from palisade.mock.knobs import Knobs, ToolCallSpec

_MAX_DEPTH = 6


def _function(tool: Any) -> dict[str, Any] | None:
    """The function definition of a chat tool (`{"function": {...}}`) or a Responses tool."""
    if not isinstance(tool, dict) or tool.get("type", "function") != "function":
        return None
    inner = tool.get("function", tool)
    if isinstance(inner, dict) and isinstance(inner.get("name"), str):
        return inner
    return None


def _forced_name(tool_choice: Any) -> str | None:
    if not isinstance(tool_choice, dict) or tool_choice.get("type") != "function":
        return None
    inner = tool_choice.get("function", tool_choice)
    name = inner.get("name") if isinstance(inner, dict) else None
    return name if isinstance(name, str) else None


def planned_calls(body: dict[str, Any], knobs: Knobs) -> tuple[ToolCallSpec, ...] | None:
    forced = knobs.forced_calls(rounds_done(body))
    if forced is not None:
        return forced
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    functions = [f for f in map(_function, tools) if f is not None]
    tool_choice = body.get("tool_choice")
    name = _forced_name(tool_choice)
    if name is not None:
        chosen = next((f for f in functions if f["name"] == name), {"name": name})
    elif tool_choice == "required" and functions:
        chosen = functions[0]
    else:
        return None
    arguments = arguments_for(chosen.get("parameters"), chosen["name"])
    return (ToolCallSpec(chosen["name"], orjson.dumps(arguments).decode()),)


def rounds_done(body: dict[str, Any]) -> int:
    """The assistant turns that called tools so far: chat messages with `tool_calls`, or runs of
    Responses `function_call` items."""
    messages = body.get("messages")
    if isinstance(messages, list):
        return sum(
            1
            for m in messages
            if isinstance(m, dict) and m.get("role") == "assistant" and m.get("tool_calls")
        )
    items = body.get("input")
    rounds, calling = 0, False
    for item in items if isinstance(items, list) else ():
        call = isinstance(item, dict) and item.get("type") == "function_call"
        rounds += call and not calling
        calling = call
    return rounds


def arguments_for(schema: Any, name: str) -> Any:
    """A value that satisfies the common JSON-schema shapes, the same for the same schema."""
    return _value(schema, name, 0)


def _minimum(schema: dict[str, Any], default: float) -> float:
    value = schema.get("minimum", default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        # The real API validates the schema when it receives it; the mock only looks this deep
        # when it builds arguments, and must still answer with a 400, not fail.
        raise InvalidRequest(
            "Invalid schema for function parameters: 'minimum' must be a number.",
            "tools",
            "invalid_function_parameters",
        )
    return value


def _value(schema: Any, name: str, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return {} if depth == 0 else None
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _value(options[0], name, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        required = schema.get("required")
        keys = required if isinstance(required, list) and required else list(properties)
        return {k: _value(properties.get(k), k, depth + 1) for k in keys if isinstance(k, str)}
    if kind == "array":
        return [_value(schema.get("items"), name, depth + 1)]
    if kind == "string":
        return f"mock-{name}-{seed(name).hex()[:6]}"
    if kind == "integer":
        low = _minimum(schema, 1)
        # orjson writes no int beyond 64 bits; in JSON, 1e300 is that integer anyway.
        return int(low) if abs(low) < 2**63 else low
    if kind == "number":
        return float(_minimum(schema, 1.5))
    if kind == "boolean":
        return True
    return None
