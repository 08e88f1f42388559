"""OpenAI's tool call `arguments` (JSON text) as the JSON object the other dialects send in
their place (Anthropic's `input`, Converse's `input`, Gemini's `args`)."""

from __future__ import annotations

from typing import Any

import orjson


def arguments_object(arguments: str | None) -> dict[str, Any] | None:
    """The object; {} for no arguments, None when they are not a JSON object."""
    if not arguments:
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
