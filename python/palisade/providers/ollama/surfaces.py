"""Ollama's chat endpoint (`api/chat`) as a surface. Unlike OpenAI's, it streams unless the
body says `"stream": false`, and its streams are NDJSON."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from palisade._core import SseEvent, count_tokens, encoding_for_model
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
from palisade.providers.ollama import shape, stream
from palisade.providers.ollama.dialect import OLLAMA

# Per message, as OpenAI's chat counting adds for the role and separators.
_MESSAGE_OVERHEAD = 4


class ChatSurface:
    dialect = OLLAMA
    stream_type = stream.NDJSON

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def request_model(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return body.get("model")

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return body.get("stream", True)

    def upstream_path(self, model: str, stream: bool) -> str:
        return self.endpoint

    def set_model(self, body: dict[str, Any], model: str) -> None:
        body["model"] = model

    def stream_parser(self) -> StreamParser:
        return stream.NdjsonParser()

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        return shape.request_texts(body)

    def text_only(self, body: dict[str, Any]) -> bool:
        return shape.text_only(body)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        encoding = encoding_for_model(model)
        slots = shape.request_texts(body)
        return sum(count_tokens(s.text, encoding) + _MESSAGE_OVERHEAD for s in slots) + 3

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        options = body.get("options")
        limit = options.get("num_predict") if isinstance(options, dict) else None
        return limit if isinstance(limit, int) and limit > 0 else default

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return shape.answer_texts(obj)

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]:
        return shape.tool_calls(obj)

    def replace_blocked(self, obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
        shape.replace_blocked(obj, blocked)

    def output_texts(self, obj: dict[str, Any]) -> Iterator[str]:
        return shape.output_texts(obj)

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        return shape.usage(obj)

    def read_usage(self, holder: UsageHolder, events: list[SseEvent]) -> None:
        for event in events:
            if '"done"' not in event.data:  # a look at the text before a parse
                continue
            try:
                obj = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                stream.take_usage(holder, obj)

    def take_usage(self, holder: UsageHolder, obj: dict[str, Any]) -> bool:
        return stream.take_usage(holder, obj)

    def stream_guard(self, guard: AnswerGuard) -> StreamTransform:
        return stream.LinesGuard(guard)

    def event_texts(self, event: Event) -> Iterator[str]:
        obj = event[1]
        if isinstance(obj, dict):
            yield from shape.output_texts(obj)

    def frame(self, event: Event) -> bytes:
        return stream.frame(event)

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        return b"".join(stream.frame((e.event, e.data)) for e in events)

    def ask_stream_usage(self, body: dict[str, Any]) -> bool:
        return False  # every Ollama stream ends with its counts


OLLAMA_CHAT = ChatSurface("api/chat")
SURFACES = (OLLAMA_CHAT,)
