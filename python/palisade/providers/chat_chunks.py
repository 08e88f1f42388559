"""OpenAI chat.completion.chunk objects as the translations of other dialects' streams write
them: a base for those translators, which keeps the id, model and creation time every chunk of
one stream repeats, and builds the chunks they all send (a delta, a tool call's start and its
argument pieces, the usage chunk)."""

from __future__ import annotations

import time
from typing import Any, Final

from palisade.providers.base import Event

DONE: Final = "[DONE]"
_CHUNK: Final = "chat.completion.chunk"
# What an OpenAI client gets in the place of `[DONE]` when the provider's stream broke off.
BROKEN_OFF: dict[str, Any] = {
    "error": {
        "message": "Palisade: the provider's stream broke off before it was complete.",
        "type": "upstream_error",
        "param": None,
        "code": "upstream_stream_interrupted",
    }
}


class ChatChunks:
    __slots__ = ("_created", "_done", "_id", "_include_usage", "_model")

    def __init__(self, *, include_usage: bool, model: Any = None, chunk_id: str = "") -> None:
        self._include_usage = include_usage
        self._id = chunk_id
        self._model = model
        self._created = int(time.time())
        self._done = False

    @property
    def open(self) -> bool:
        """Not ended by the provider's last event, an error or `finish`."""
        return not self._done

    def finish(self) -> list[dict[str, Any] | str]:
        """The provider's stream ended before its last event: what is still to send ("[DONE]"
        last when the answer was whole)."""
        raise NotImplementedError

    def _chunk(
        self, delta: dict[str, Any], finish_reason: str | None = None, index: int = 0
    ) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": _CHUNK,
            "created": self._created,
            "model": self._model,
            "choices": [
                {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }

    def _call_start(
        self, tool: int, call_id: Any, name: Any, arguments: str, index: int = 0
    ) -> dict[str, Any]:
        """A tool call's first delta: its id, its name and the arguments so far."""
        call = {
            "index": tool,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        return self._chunk({"tool_calls": [call]}, index=index)

    def _call_arguments(self, tool: int, arguments: str) -> dict[str, Any]:
        """A piece of a started tool call's arguments."""
        return self._chunk({"tool_calls": [{"index": tool, "function": {"arguments": arguments}}]})

    def _usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        """The chunk after the last choice's, with the stream's usage (OpenAI's names)."""
        return {
            "id": self._id,
            "object": _CHUNK,
            "created": self._created,
            "model": self._model,
            "choices": [],
            "usage": usage,
        }


def ended(stream: ChatChunks | None) -> list[Event]:
    """The last events for the client when the provider's stream ended: the translator's, and
    an error in the place of "[DONE]" when they do not end with it (the stream broke off),
    never a clean end."""
    if stream is None or not stream.open:
        return []
    chunks = stream.finish()
    out: list[Event] = [("message", chunk) for chunk in chunks]
    if not chunks or chunks[-1] != DONE:
        out.append(("message", BROKEN_OFF))
    return out
