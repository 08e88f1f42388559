"""Gemini's API as surfaces: `generateContent`, `streamGenerateContent` and `countTokens`.

The model is in the path (`models/{model}:generateContent`), and so is streaming: the request
body names neither, and `set_model` has nothing to do. A stream is asked for with `?alt=sse`
(data-only events, each a `GenerateContentResponse` chunk); without it Google answers a JSON
array, which the gateway never asks for. `countTokens` counts a prompt and generates nothing;
its prompt is guarded like any other, since it reaches the provider.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from palisade._core import SseEvent, SseParser
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
from palisade.providers.gemini import shape, stream, usage
from palisade.providers.gemini.dialect import GEMINI


@lru_cache(maxsize=4096)
def model_path(model: str, action: str) -> str:
    """`models/{model}:{action}`. The name came percent-decoded from the client's path: quoted
    again, so that no `?`, `#` or `/` in it can change the URL that leaves."""
    return f"models/{quote(model, safe='-._~:@!$&()*+,;=')}:{action}"


class GeminiSurface:
    dialect = GEMINI
    stream_type = "text/event-stream"

    def __init__(self, endpoint: str, *, streams: bool) -> None:
        self.endpoint = endpoint
        self.streams = streams

    def request_model(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return params.get("model")

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return self.streams

    def upstream_path(self, model: str, stream: bool) -> str:
        if stream:
            return model_path(model, "streamGenerateContent") + "?alt=sse"
        return model_path(model, "generateContent")

    def set_model(self, body: dict[str, Any], model: str) -> None:
        return None

    def stream_parser(self) -> StreamParser:
        return SseParser()

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
        return stream.GenerateGuard(guard)

    def event_texts(self, event: Event) -> Iterator[str]:
        return usage.event_texts(event)

    def frame(self, event: Event) -> bytes:
        return stream.frame(event)

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        # Gemini streams always carry their usage: never asked for, never hidden.
        return b"".join(stream.frame((e.event, e.data)) for e in events)

    def ask_stream_usage(self, body: dict[str, Any]) -> bool:
        return False


class CountTokensSurface(GeminiSurface):
    def upstream_path(self, model: str, stream: bool) -> str:
        return model_path(model, "countTokens")

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return 0

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        # `{"totalTokens": N}` is the answer, not a use: nothing was generated or billed.
        return Usage()


GENERATE = GeminiSurface("generateContent", streams=False)
STREAM_GENERATE = GeminiSurface("streamGenerateContent", streams=True)
COUNT_TOKENS = CountTokensSurface("countTokens", streams=False)
SURFACES = (GENERATE, STREAM_GENERATE, COUNT_TOKENS)
