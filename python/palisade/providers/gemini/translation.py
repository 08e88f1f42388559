"""The translation of the Gemini dialect, as the pipeline uses it (`Translation`): an OpenAI
chat client served by a Gemini-dialect provider. Anthropic Messages and OpenAI Responses clients
reach it through chat (`providers.translation.Chained`). The mapping rules are `translate.py`'s
and `translate_stream.py`'s."""

from __future__ import annotations

from typing import Any

from palisade.providers.base import Event, Surface
from palisade.providers.chat_chunks import ended
from palisade.providers.gemini import translate
from palisade.providers.gemini.surfaces import GENERATE
from palisade.providers.gemini.translate_stream import GeminiStreamToChat
from palisade.providers.translation import Forwarded


class ChatToGemini(Forwarded):
    """OpenAI chat completions in, Gemini `generateContent` out."""

    upstream: Surface = GENERATE

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._stream: GeminiStreamToChat | None = None

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        options = body.get("stream_options")
        asked = isinstance(options, dict) and options.get("include_usage") is True
        self._stream = GeminiStreamToChat(include_usage=asked, model=body.get("model"))
        return translate.chat_request_to_gemini(body, self.notes)

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return translate.gemini_answer_to_chat(obj)

    def error(self, status: int, body: bytes) -> bytes:
        return translate.gemini_error_to_chat(status, body)

    def stream(self, event: Event) -> list[Event]:
        data = event[1]
        if not isinstance(data, dict):
            return []  # Gemini sends objects only
        if self._stream is None:
            self._stream = GeminiStreamToChat(include_usage=False)
        return [("message", out) for out in self._stream.feed(data)]

    def finish(self) -> list[Event]:
        """Gemini marks no end: the stream's end closes the client's, "[DONE]" only when every
        candidate had finished; otherwise it broke off, and the client gets an error."""
        return ended(self._stream)
