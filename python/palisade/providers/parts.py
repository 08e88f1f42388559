"""A surface made of its dialect's parts: the `shape` module (where the texts and tool calls sit),
the `stream` module (usage in events, framing) and the `usage` module (counting), with the names
every dialect package uses, and the class that guards its streams. The Anthropic, Gemini,
Bedrock and Cohere surfaces are this plus what sets them apart (where the model and the stream
are named, the path, the framing); OpenAI's four endpoints differ in more and keep their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar, NamedTuple, Protocol

from palisade._core import SseEvent
from palisade.pricing import Usage
from palisade.providers.base import (
    AnswerGuard,
    Event,
    Slot,
    StreamTransform,
    ToolCallSlot,
    UsageHolder,
)


class ShapeModule(Protocol):
    def request_texts(self, body: dict[str, Any]) -> list[Slot]: ...

    def text_only(self, body: dict[str, Any]) -> bool: ...

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]: ...

    def tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]: ...

    def replace_blocked(
        self, obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]
    ) -> None: ...


class StreamModule(Protocol):
    def read_usage(self, holder: UsageHolder, events: list[SseEvent]) -> None: ...

    def take_usage(self, holder: UsageHolder, obj: dict[str, Any]) -> bool: ...

    def frame(self, event: Event) -> bytes: ...


class UsageModule(Protocol):
    def prompt_tokens(self, body: dict[str, Any], model: str) -> int: ...

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int: ...

    def answer_texts(self, obj: dict[str, Any]) -> Iterator[str]: ...

    def usage_of(self, obj: dict[str, Any]) -> Usage | None: ...

    def event_texts(self, event: Event) -> Iterator[str]: ...


class Parts(NamedTuple):
    shape: ShapeModule
    stream: StreamModule
    usage: UsageModule
    guard: Callable[[AnswerGuard], StreamTransform]


class PartsSurface:
    """The body and stream methods of `Surface`, by the dialect's `parts`. Its streams always
    carry their usage: never asked for, so never hidden."""

    parts: ClassVar[Parts]

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        return self.parts.shape.request_texts(body)

    def text_only(self, body: dict[str, Any]) -> bool:
        return self.parts.shape.text_only(body)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return self.parts.usage.prompt_tokens(body, model)

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return self.parts.usage.max_output_tokens(body, default)

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return self.parts.shape.answer_texts(obj)

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]:
        return self.parts.shape.tool_calls(obj)

    def replace_blocked(self, obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
        self.parts.shape.replace_blocked(obj, blocked)

    def output_texts(self, obj: dict[str, Any]) -> Iterator[str]:
        return self.parts.usage.answer_texts(obj)

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        return self.parts.usage.usage_of(obj)

    def read_usage(self, holder: UsageHolder, events: list[SseEvent]) -> None:
        self.parts.stream.read_usage(holder, events)

    def take_usage(self, holder: UsageHolder, obj: dict[str, Any]) -> bool:
        return self.parts.stream.take_usage(holder, obj)

    def stream_guard(self, guard: AnswerGuard) -> StreamTransform:
        return self.parts.guard(guard)

    def event_texts(self, event: Event) -> Iterator[str]:
        return self.parts.usage.event_texts(event)

    def frame(self, event: Event) -> bytes:
        return self.parts.stream.frame(event)

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        frame = self.parts.stream.frame
        return b"".join(frame((e.event, e.data)) for e in events)

    def ask_stream_usage(self, body: dict[str, Any]) -> bool:
        return False
