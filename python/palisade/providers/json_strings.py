"""Every string inside a JSON value as a slot of its own: how the shapes reach the texts of a
tool call's arguments, a tool's structured result or a document's data, whatever their schema."""

from __future__ import annotations

from typing import Any

from palisade.providers.base import Path, Slot


def json_strings(
    holder: Any, key: Any, role: str, path: Path, out: list[Slot], tool: str | None = None
) -> None:
    """The strings of `holder[key]`, appended to `out`."""
    value = holder[key]
    if isinstance(value, str):
        out.append(Slot(holder, key, role, path, tool))
    elif isinstance(value, dict):
        for k in value:
            json_strings(value, k, role, (*path, k), out, tool)
    elif isinstance(value, list):
        for k in range(len(value)):
            json_strings(value, k, role, (*path, k), out, tool)
