"""OpenAI's four generation endpoints as surfaces: what differs between them is where the texts
sit (`shape`), how their streams are guarded (`stream`) and how their prompts are counted
(`usage`); the dialect (credentials, errors) is shared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from palisade._core import SseEvent
from palisade.errors import BadRequest
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
from palisade.providers.openai import shape, stream, usage
from palisade.providers.openai.dialect import OPENAI


class _OpenAISurface(BodyNamed):
    dialect = OPENAI
    # Streams that accept `stream_options.include_usage`.
    usage_opt_in = False

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        raise NotImplementedError

    def text_only(self, body: dict[str, Any]) -> bool:
        return True  # completions and embeddings: a prompt of text (or token ids)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        raise NotImplementedError

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return usage.max_output_tokens(body, default)

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return []

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]:
        return []

    def replace_blocked(self, obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
        return None

    def output_texts(self, obj: dict[str, Any]) -> Iterator[str]:
        return usage.answer_texts(obj)

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        return usage.usage_of(obj)

    def read_usage(self, holder: UsageHolder, events: list[SseEvent]) -> None:
        stream.read_usage(holder, events)

    def take_usage(self, holder: UsageHolder, obj: dict[str, Any]) -> bool:
        return stream.take_usage(holder, obj)

    def stream_guard(self, guard: AnswerGuard) -> StreamTransform:
        return stream.ChoicesGuard(guard, "content")

    def event_texts(self, event: Event) -> Iterator[str]:
        return usage.event_texts(event)

    def frame(self, event: Event) -> bytes:
        return stream.frame(event)

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        return stream.hide_usage(holder, events)

    def ask_stream_usage(self, body: dict[str, Any]) -> bool:
        """Asks a stream for its usage when the client did not (True: the gateway must hide
        it); the provider must accept `stream_options`."""
        if not self.usage_opt_in:
            return False
        options = body.get("stream_options")
        if options is None:
            options = {}
        elif not isinstance(options, dict):
            raise BadRequest(
                "Palisade: `stream_options` must be an object.", param="stream_options"
            )
        if options.get("include_usage") is True:
            return False
        body["stream_options"] = {**options, "include_usage": True}
        return True


class ChatSurface(_OpenAISurface):
    usage_opt_in = True

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        out: list[Slot] = []
        shape.chat_request(body, out)
        return out

    def text_only(self, body: dict[str, Any]) -> bool:
        return shape.chat_text_only(body)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return usage.chat_prompt_tokens(body, model)

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return shape.chat_answer(obj)

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]:
        return shape.chat_tool_calls(obj)

    def replace_blocked(self, obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
        shape.chat_replace_blocked(obj, blocked)


class CompletionsSurface(_OpenAISurface):
    usage_opt_in = True

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        out: list[Slot] = []
        shape.strings(body, "prompt", "user", out)
        return out

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return usage.values_tokens(body.get("prompt"), model)

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return shape.completions_answer(obj)

    def stream_guard(self, guard: AnswerGuard) -> StreamTransform:
        return stream.ChoicesGuard(guard, "text")


class EmbeddingsSurface(_OpenAISurface):
    generates = False

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        out: list[Slot] = []
        shape.strings(body, "input", "user", out)
        return out

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return usage.values_tokens(body.get("input"), model)

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return 0


class ResponsesSurface(_OpenAISurface):
    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        out: list[Slot] = []
        shape.responses_request(body, out)
        return out

    def text_only(self, body: dict[str, Any]) -> bool:
        return shape.responses_text_only(body)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return usage.responses_prompt_tokens(body, model)

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return shape.responses_answer(obj)

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]:
        return shape.responses_tool_calls(obj)

    def replace_blocked(self, obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
        shape.responses_replace_blocked(obj, blocked)

    def stream_guard(self, guard: AnswerGuard) -> StreamTransform:
        return stream.ResponsesGuard(guard)


CHAT = ChatSurface("chat/completions")
COMPLETIONS = CompletionsSurface("completions")
EMBEDDINGS = EmbeddingsSurface("embeddings")
RESPONSES = ResponsesSurface("responses")
SURFACES = (CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES)
