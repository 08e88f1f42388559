"""The Converse API's two endpoints: `model/{modelId}/converse` and `.../converse-stream`. The
model is in the path and the endpoint says whether the answer streams; streams are AWS binary
event streams, parsed and framed by the Rust extension."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from palisade._core import EventStreamParser, SseEvent
from palisade.pricing import Usage
from palisade.providers.base import (
    AnswerGuard,
    Event,
    Slot,
    StreamParser,
    StreamTransform,
    ToolCallSlot,
    UsageHolder,
)
from palisade.providers.bedrock import shape, stream, usage
from palisade.providers.bedrock.dialect import BEDROCK

EVENT_STREAM = "application/vnd.amazon.eventstream"


_PATHS: dict[tuple[str, str], str] = {}
_PATHS_LIMIT = 4096


def model_path(model: str, action: str) -> str:
    """Model ids hold `:` and ARNs `/`: one path segment, percent-encoded as boto3 sends it.
    Cached: `quote` cost 3 us a request."""
    path = _PATHS.get((model, action))
    if path is None:
        segment = quote(model, safe="")
        if segment in (".", ".."):  # never a dot segment: it would climb to another path
            segment = segment.replace(".", "%2E")
        path = f"model/{segment}/{action}"
        if len(_PATHS) < _PATHS_LIMIT:
            _PATHS[(model, action)] = path
    return path


class ConverseSurface:
    dialect = BEDROCK
    stream_type = EVENT_STREAM

    def __init__(self, endpoint: str, streams: bool) -> None:
        self.endpoint = endpoint
        self.streams = streams

    def request_model(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return params.get("model")

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return self.streams

    def upstream_path(self, model: str, stream: bool) -> str:
        return model_path(model, "converse-stream" if stream else "converse")

    def set_model(self, body: dict[str, Any], model: str) -> None:
        return None  # the path names it

    def stream_parser(self) -> StreamParser:
        return EventStreamParser()

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        return shape.request_texts(body)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return usage.prompt_tokens(body, model)

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return usage.max_output_tokens(body, default)

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return shape.answer_texts(obj)

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]:
        return shape.tool_calls(obj)

    def replace_blocked(self, obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
        shape.replace_blocked(obj, blocked)

    def output_texts(self, obj: dict[str, Any]) -> Iterator[str]:
        return usage.answer_texts(obj)

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        return usage.usage_of(obj)

    def read_usage(self, holder: UsageHolder, events: list[SseEvent]) -> None:
        stream.read_usage(holder, events)

    def take_usage(self, holder: UsageHolder, obj: dict[str, Any]) -> bool:
        return stream.take_usage(holder, obj)

    def stream_guard(self, guard: AnswerGuard) -> StreamTransform:
        return stream.ConverseGuard(guard)

    def event_texts(self, event: Event) -> Iterator[str]:
        return usage.event_texts(event)

    def frame(self, event: Event) -> bytes:
        return stream.frame(event)

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        # Converse streams always carry their usage: never asked for, never hidden.
        return b"".join(stream.frame((e.event, e.data)) for e in events)

    def ask_stream_usage(self, body: dict[str, Any]) -> bool:
        return False


CONVERSE = ConverseSurface("converse", streams=False)
CONVERSE_STREAM = ConverseSurface("converse-stream", streams=True)
SURFACES = (CONVERSE, CONVERSE_STREAM)
