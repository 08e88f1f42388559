"""Cohere's v2 API as surfaces: `v2/chat` (the model and `stream` in the body, SSE streams with
named events) and `v2/embed`, which generates nothing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from palisade._core import SseEvent
from palisade.pricing import Usage
from palisade.providers.base import (
    AnswerGuard,
    BodyNamed,
    Event,
    Slot,
    StreamTransform,
    ToolCallSlot,
    UsageHolder,
)
from palisade.providers.cohere import shape, stream, usage
from palisade.providers.cohere.dialect import COHERE


class ChatSurface(BodyNamed):
    dialect = COHERE
    endpoint = "v2/chat"

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        return shape.chat_request(body)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return usage.prompt_tokens(body, model)

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return usage.max_output_tokens(body, default)

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return shape.chat_answer(obj)

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
        return stream.ChatGuard(guard)

    def event_texts(self, event: Event) -> Iterator[str]:
        return usage.event_texts(event)

    def frame(self, event: Event) -> bytes:
        return stream.frame(event)

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        # Cohere streams always end with their usage: never asked for, never hidden.
        return b"".join(stream.frame((e.event, e.data)) for e in events)

    def ask_stream_usage(self, body: dict[str, Any]) -> bool:
        return False


class EmbedSurface(ChatSurface):
    endpoint = "v2/embed"

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        return shape.embed_request(body)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return usage.embed_tokens(body, model)

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return 0

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return []  # vectors, and the inputs echoed back

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]:
        return []

    def output_texts(self, obj: dict[str, Any]) -> Iterator[str]:
        return iter(())

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return False  # the endpoint never streams; a `stream` field is the provider's to refuse


CHAT = ChatSurface()
EMBED = EmbedSurface()
SURFACES = (CHAT, EMBED)
