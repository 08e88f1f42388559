"""Strict checks of raw wire payloads against the SDK's typed models."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
import pydantic

M = TypeVar("M", bound=pydantic.BaseModel)


def strict(model: type[M], data: Any) -> M:
    """Validate `data` (not just construct, as the SDK does) and refuse fields the model lacks:
    the SDK's models accept extras silently, so a misspelt field would otherwise pass."""
    parsed = model.model_validate(data)
    assert_no_extras(parsed)
    return parsed


def assert_no_extras(value: Any, where: str = "$") -> None:
    if isinstance(value, pydantic.BaseModel):
        extra = value.model_extra or {}
        assert not extra, f"unknown fields at {where}: {sorted(extra)}"
        for name in type(value).model_fields:
            assert_no_extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_extras(item, f"{where}[{index}]")


def sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of each event of a complete SSE body (the mock sends one data line)."""
    events: list[tuple[str | None, str]] = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        name: str | None = None
        data = ""
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = value
        events.append((name, data))
    return events


def sse_json(raw: bytes) -> list[Any]:
    """The JSON payloads of a chat/completions stream; asserts it ends with `[DONE]`."""
    events = sse_events(raw)
    assert events[-1] == (None, "[DONE]")
    return [orjson.loads(data) for _, data in events[:-1]]
