"""Anthropic's Messages API as surfaces: `messages` and `messages/count_tokens` (which counts a
prompt and generates nothing; its prompt is guarded like any other, since it reaches the
provider)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from palisade._core import SseEvent
from palisade.pricing import Usage
from palisade.providers.anthropic import shape, stream, usage
from palisade.providers.anthropic.dialect import ANTHROPIC
from palisade.providers.base import (
    AnswerGuard,
    BodyNamed,
    Event,
    Slot,
    StreamTransform,
    ToolCallSlot,
    UsageHolder,
)


class MessagesSurface(BodyNamed):
    dialect = ANTHROPIC

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

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
        return stream.MessagesGuard(guard)

    def event_texts(self, event: Event) -> Iterator[str]:
        return usage.event_texts(event)

    def frame(self, event: Event) -> bytes:
        return stream.frame(event)

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        # Anthropic streams always carry their usage: never asked for, never hidden.
        return b"".join(stream.frame((e.event, e.data)) for e in events)

    def ask_stream_usage(self, body: dict[str, Any]) -> bool:
        return False


class CountTokensSurface(MessagesSurface):
    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return 0

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        # `{"input_tokens": N}` is the answer, not a use: nothing was generated or billed.
        return Usage()


MESSAGES = MessagesSurface("messages")
COUNT_TOKENS = CountTokensSurface("messages/count_tokens")
SURFACES = (MESSAGES, COUNT_TOKENS)
