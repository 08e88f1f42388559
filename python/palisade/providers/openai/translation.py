"""The OpenAI Responses API in, chat completions out: the first half of every translation of a
Responses client (`providers.translation.Chained`), whose second half takes chat completions to
the provider's dialect. The mapping rules are `translate_responses.py`'s."""

from __future__ import annotations

from typing import Any

from palisade.providers.base import Event, Surface
from palisade.providers.openai.surfaces import CHAT
from palisade.providers.openai.translate_responses import (
    ChatStreamToResponses,
    chat_answer_to_responses,
    response_echo,
    responses_request_to_chat,
)
from palisade.providers.translation import Forwarded


class ResponsesToChat(Forwarded):
    upstream: Surface = CHAT

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._echo: dict[str, Any] = {}
        self._stream: ChatStreamToResponses | None = None

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        chat = responses_request_to_chat(body, self.notes)
        self._echo = response_echo(body)
        if chat.get("stream"):
            # A Responses stream always ends with its usage: the chat step asks for it.
            chat["stream_options"] = {"include_usage": True}
        return chat

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return chat_answer_to_responses(obj, self._echo)

    def error(self, status: int, body: bytes) -> bytes:
        return body  # the same error body in both APIs

    def stream(self, event: Event) -> list[Event]:
        return self._responses().feed(event[1])

    def finish(self) -> list[Event]:
        return self._responses().finish()

    def _responses(self) -> ChatStreamToResponses:
        if self._stream is None:
            self._stream = ChatStreamToResponses(self._echo)
        return self._stream
