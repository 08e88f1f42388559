"""The translations of the Cohere dialect, as the pipeline uses them (`Translation`): an OpenAI
chat client served by a Cohere provider (Anthropic Messages and OpenAI Responses clients go
through chat: `providers.translation.Chained`), and an OpenAI embeddings client. The mapping rules
are `translate.py`'s and `translate_stream.py`'s; this module only adapts them to events."""

from __future__ import annotations

from typing import Any

from palisade.providers.base import Event, Surface
from palisade.providers.chat_chunks import ended
from palisade.providers.cohere import translate
from palisade.providers.cohere.surfaces import CHAT, EMBED
from palisade.providers.cohere.translate_stream import CohereStreamToChat
from palisade.providers.translation import Forwarded


class ChatToCohere(Forwarded):
    """OpenAI chat completions in, Cohere v2 chat out."""

    upstream: Surface = CHAT

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._model: object = None
        self._stream: CohereStreamToChat | None = None

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        options = body.get("stream_options")
        asked = isinstance(options, dict) and options.get("include_usage") is True
        self._model = body.get("model")
        self._stream = CohereStreamToChat(include_usage=asked, model=self._model)
        return translate.chat_request_to_cohere(body, self.notes)

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return translate.cohere_answer_to_chat(obj, self._model)

    def error(self, status: int, body: bytes) -> bytes:
        return translate.cohere_error_to_chat(status, body)

    def stream(self, event: Event) -> list[Event]:
        data = event[1]
        if not isinstance(data, dict):
            return []  # Cohere sends objects only
        if self._stream is None:
            self._stream = CohereStreamToChat(include_usage=False, model=self._model)
        return [("message", out) for out in self._stream.feed(data)]

    def finish(self) -> list[Event]:
        """A provider stream that stopped without `message-end` broke off: its usage (when
        asked for), then an error, never a clean end."""
        return ended(self._stream)


class EmbeddingsToCohere(Forwarded):
    """OpenAI embeddings in, Cohere v2 embed out."""

    upstream: Surface = EMBED

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._model: object = None
        self._encoding = "float"

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        self._model = body.get("model")
        self._encoding = "base64" if body.get("encoding_format") == "base64" else "float"
        return translate.embeddings_request_to_cohere(body, self.notes)

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return translate.cohere_embed_to_embeddings(obj, self._model, self._encoding)

    def error(self, status: int, body: bytes) -> bytes:
        return translate.cohere_error_to_chat(status, body)

    def stream(self, event: Event) -> list[Event]:
        return []  # never streams

    def finish(self) -> list[Event]:
        return []
