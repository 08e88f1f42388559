"""Per-request knobs, read from the body field `mock` (the SDK's `extra_body={"mock": {...}}`).

Every knob overrides the server default of the same name. Unknown knobs are refused with 400 so
that a typo in a test fails loudly instead of silently testing the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import orjson

from palisade.mock.errors import InvalidRequest
from palisade.mock.settings import MockSettings

Failure = Literal[
    "429",
    "500",
    "503",
    "529",
    "drop",
    "hang",
    "stream_error",
    "context_length",
    "content_filter",
]
# What every dialect can fail with; a dialect may add its own (Anthropic: 529, stream_error).
# `context_length` and `content_filter` are the refusals a gateway's fallback conditions name,
# each in the dialect's real wire format.
FAILURES: frozenset[str] = frozenset({"429", "500", "503", "drop", "hang", "context_length"})
EVERY_FAILURE: frozenset[str] = frozenset(get_args(Failure))

Parser = Callable[[str, Any], object]


@dataclass(frozen=True, slots=True)
class ToolCallSpec:
    name: str
    arguments: str
    """Already a JSON string, as the wire format carries it."""


@dataclass(frozen=True, slots=True)
class Knobs:
    latency_ms: float
    ttft_ms: float
    chunks: int
    chunk_interval_ms: float
    reply: str | None = None
    # The reply's exact stream pieces (chat): tests place a chunk boundary anywhere.
    reply_chunks: tuple[str, ...] | None = None
    tool_calls: tuple[ToolCallSpec, ...] | None = None
    # How many tool-calling turns `tool_calls` makes in one conversation (None: every turn).
    tool_rounds: int | None = None
    fail: Failure | None = None
    retry_after: str = "1"
    fail_after_chunks: int = 2

    @property
    def abort_after(self) -> int | None:
        """Events a stream sends before breaking off (`fail: drop`), else None."""
        return self.fail_after_chunks if self.fail == "drop" else None

    def forced_calls(self, rounds_done: int) -> tuple[ToolCallSpec, ...] | None:
        """The `tool_calls` to answer with, in a conversation that already holds `rounds_done`
        tool-calling assistant turns. An agent such as Claude Code sends the same knobs (a
        header) on every request of its loop: with `tool_rounds`, the loop ends in text."""
        if self.tool_rounds is not None and rounds_done >= self.tool_rounds:
            return None
        return self.tool_calls

    @classmethod
    def defaults(cls, settings: MockSettings) -> Knobs:
        return cls(
            latency_ms=settings.latency_ms,
            ttft_ms=settings.ttft_ms,
            chunks=settings.chunks,
            chunk_interval_ms=settings.chunk_interval_ms,
        )

    def override(self, raw: Any, failures: frozenset[str] = FAILURES) -> Knobs:
        """The knobs of one request: `raw` is the body's `mock` value; `failures` are the
        `fail` values the endpoint's dialect can perform."""
        if not isinstance(raw, dict):
            raise InvalidRequest("'mock' must be an object", param="mock")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            parser = _PARSERS.get(key)
            if parser is None:
                raise InvalidRequest(f"unknown mock knob '{key}'", param=f"mock.{key}")
            values[key] = parser(key, value)
            if key == "fail" and values[key] not in failures:
                allowed = ", ".join(sorted(failures))
                raise InvalidRequest(f"mock.fail must be one of {allowed}", param="mock.fail")
        if values.get("reply_chunks"):
            values["reply"] = "".join(values["reply_chunks"])
        return Knobs(**{**_as_dict(self), **values})


def _as_dict(knobs: Knobs) -> dict[str, Any]:
    return {name: getattr(knobs, name) for name in Knobs.__slots__}


def _non_negative(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidRequest(f"mock.{key} must be a number >= 0", param=f"mock.{key}")
    return float(value)


def _count(low: int) -> Parser:
    def parse(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidRequest(f"mock.{key} must be an integer >= {low}", param=f"mock.{key}")
        return value

    return parse


def _text(key: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRequest(f"mock.{key} must be a string", param=f"mock.{key}")
    return value


def _failure(key: str, value: Any) -> Failure:
    # Which failures are allowed depends on the endpoint: `Knobs.override` checks.
    return cast(Failure, _text(key, value))


def _tool_calls(key: str, value: Any) -> tuple[ToolCallSpec, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidRequest("mock.tool_calls must be a non-empty list", param="mock.tool_calls")
    calls = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidRequest(
                "each mock.tool_calls item needs a string 'name'", param="mock.tool_calls"
            )
        arguments = item.get("arguments", {})
        if isinstance(arguments, dict):
            arguments = orjson.dumps(arguments).decode()
        elif not isinstance(arguments, str):
            raise InvalidRequest(
                "mock.tool_calls[].arguments must be an object or a string",
                param="mock.tool_calls",
            )
        calls.append(ToolCallSpec(name, arguments))
    return tuple(calls)


def _texts(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"mock.{key} must be a non-empty list of strings", param=f"mock.{key}")
    return tuple(value)


_PARSERS: dict[str, Parser] = {
    "latency_ms": _non_negative,
    "ttft_ms": _non_negative,
    "chunks": _count(1),
    "chunk_interval_ms": _non_negative,
    "reply": _text,
    "reply_chunks": _texts,
    "tool_calls": _tool_calls,
    "tool_rounds": _count(1),
    "fail": _failure,
    "retry_after": _text,
    "fail_after_chunks": _count(0),
}
