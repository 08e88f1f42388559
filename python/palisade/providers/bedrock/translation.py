"""The translation of the Bedrock dialect, as the pipeline uses it (`Translation`): an OpenAI
chat client served by a Bedrock provider (Anthropic Messages and OpenAI Responses clients go
through chat: `providers.translation.Chained`). The rules are `translate.py`'s and
`translate_stream.py`'s."""

from __future__ import annotations

from typing import Any

from palisade.providers.base import Event, Surface
from palisade.providers.bedrock import translate
from palisade.providers.bedrock.surfaces import CONVERSE
from palisade.providers.bedrock.translate_stream import ConverseStreamToChat
from palisade.providers.chat_chunks import ended
from palisade.providers.translation import Forwarded


class ChatToBedrock(Forwarded):
    """OpenAI chat completions in, Bedrock Converse out."""

    upstream: Surface = CONVERSE

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._model = ""
        self._stream: ConverseStreamToChat | None = None

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        model = body.get("model")
        self._model = model if isinstance(model, str) else ""
        options = body.get("stream_options")
        asked = isinstance(options, dict) and options.get("include_usage") is True
        self._stream = ConverseStreamToChat(include_usage=asked, model=self._model)
        return translate.chat_request_to_converse(body, self.notes)

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return translate.converse_answer_to_chat(obj, self._model)

    def error(self, status: int, body: bytes) -> bytes:
        return translate.converse_error_to_chat(status, body)

    def stream(self, event: Event) -> list[Event]:
        name, data = event
        if not isinstance(data, dict):
            return []
        if self._stream is None:
            self._stream = ConverseStreamToChat(include_usage=False, model=self._model)
        return [("message", out) for out in self._stream.feed(name, data)]

    def finish(self) -> list[Event]:
        """A stream that stopped before its last event: its usage (when asked for) and the end
        if its stop reason had come, else an error, never a clean end."""
        return ended(self._stream)
