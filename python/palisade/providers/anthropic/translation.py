"""The translations of the Anthropic dialect, as the pipeline uses them (`Translation`): an
OpenAI chat client served by an Anthropic-dialect provider (a Responses client goes through
chat: `providers.translation.Chained`), and an Anthropic Messages client (Claude Code) served by
an OpenAI-dialect one, whose token counts the gateway answers itself (OpenAI's API has no such
endpoint). The mapping rules are `translate.py`'s and `translate_stream.py`'s; this module only
adapts them to events."""

from __future__ import annotations

from typing import Any

from palisade.providers.anthropic import translate
from palisade.providers.anthropic.surfaces import COUNT_TOKENS, MESSAGES
from palisade.providers.anthropic.translate_stream import ChatStreamToMessages, MessagesStreamToChat
from palisade.providers.base import Event, Surface
from palisade.providers.chat_chunks import ended
from palisade.providers.openai import CHAT
from palisade.providers.translation import Forwarded, Unchanged


class ChatToAnthropic(Forwarded):
    """OpenAI chat completions in, Anthropic Messages out."""

    upstream: Surface = MESSAGES

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._stream: MessagesStreamToChat | None = None

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        options = body.get("stream_options")
        asked = isinstance(options, dict) and options.get("include_usage") is True
        self._stream = MessagesStreamToChat(include_usage=asked)
        return translate.chat_request_to_messages(body, self.notes)

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return translate.messages_answer_to_chat(obj)

    def error(self, status: int, body: bytes) -> bytes:
        return translate.messages_error_to_chat(status, body)

    def stream(self, event: Event) -> list[Event]:
        name, data = event
        if not isinstance(data, dict):
            return []  # Anthropic sends objects only
        if self._stream is None:
            self._stream = MessagesStreamToChat(include_usage=False)
        return [("message", out) for out in self._stream.feed(name, data)]

    def finish(self) -> list[Event]:
        """A provider stream that stopped without `message_stop` broke off: its usage (when
        asked for), then an error, never a clean end; unless its stop reason had come."""
        return ended(self._stream)


class MessagesToOpenAI(Forwarded):
    """Anthropic Messages in, OpenAI chat completions out."""

    upstream: Surface = CHAT

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._stream: ChatStreamToMessages | None = None

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        model = body.get("model")
        self._stream = ChatStreamToMessages(model=model if isinstance(model, str) else "")
        out = translate.messages_request_to_chat(body, self.notes)
        if out.get("stream"):
            # Anthropic streams always end with their usage: ask the provider for it.
            out["stream_options"] = {"include_usage": True}
        return out

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return translate.chat_answer_to_messages(obj)

    def error(self, status: int, body: bytes) -> bytes:
        return translate.chat_error_to_messages(status, body)

    def stream(self, event: Event) -> list[Event]:
        if self._stream is None:
            self._stream = ChatStreamToMessages(model="")
        return list(self._stream.feed(event[1]))

    def finish(self) -> list[Event]:
        return [] if self._stream is None else list(self._stream.finish())


class CountTokensLocally(Unchanged):
    """`messages/count_tokens` for a model an OpenAI-dialect provider serves: counted by the
    gateway's tokenizer for that model (the count its limits use), since OpenAI's API counts
    nothing without generating. Claude Code asks before it sends a large tool result; a refusal
    would leave it to guess. Nothing leaves for the provider: the rest is never called."""

    upstream: Surface = COUNT_TOKENS

    def __init__(self) -> None:
        self.notes: list[str] = [
            "input_tokens: counted by the gateway's tokenizer for the model; the provider's API "
            "has no token count"
        ]

    def local_answer(self, body: dict[str, Any], model: str) -> dict[str, Any] | None:
        return {"input_tokens": COUNT_TOKENS.prompt_tokens(body, model)}
