"""A translation between the client's surface and a provider's of another dialect.

One object per request: it carries the notes on fields that had no equivalent (reported in a
response header and the interaction record, never dropped without a trace) and the state of a
translated stream. Guardrails judge the client's side of both directions; usage is read on the
provider's side, where it is exact.
"""

from __future__ import annotations

from typing import Any, Protocol

from palisade.providers.base import Event, Surface

# What a translation could not map (a field without equivalent), one line per kind of loss.
Notes = list[str]


def note(notes: Notes, text: str) -> None:
    # One line per kind of loss: a 200-message history must not produce 200 identical notes.
    if text not in notes:
        notes.append(text)


class Translation(Protocol):
    @property
    def upstream(self) -> Surface:
        """The provider's surface: the request leaves for its endpoint, its answer is read by
        it."""

    @property
    def notes(self) -> list[str]:
        """Fields mapped by a documented rule or dropped, one note each."""

    def local_answer(self, body: dict[str, Any], model: str) -> dict[str, Any] | None:
        """The answer the gateway makes itself, when the provider's dialect has no endpoint for
        the request (nothing leaves then); None for the usual call. `model` is the provider's
        name for it."""

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """The client's request (as the guardrails left it) in the provider's dialect."""

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A whole answer in the client's dialect."""

    def error(self, status: int, body: bytes) -> bytes:
        """A provider's error body in the client's dialect (same status)."""

    def stream(self, event: Event) -> list[Event]:
        """A provider's stream event as the client's events (none, one or several)."""

    def finish(self) -> list[Event]:
        """The events that close the client's stream if the provider's ended without them."""


class Forwarded:
    """A base for the translations whose request leaves for the provider (the gateway answers
    nothing itself)."""

    __slots__ = ()

    def local_answer(self, body: dict[str, Any], model: str) -> dict[str, Any] | None:
        return None


class Unchanged(Forwarded):
    """A base for the translations that change nothing of what crosses them (the bodies are the
    provider's already, or nothing leaves: the gateway answers)."""

    __slots__ = ()

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return obj

    def error(self, status: int, body: bytes) -> bytes:
        return body

    def stream(self, event: Event) -> list[Event]:
        return [event]

    def finish(self) -> list[Event]:
        return []


class Chained:
    """Two translations in a row, through OpenAI chat completions: `first` takes the client's
    surface to chat, `second` takes chat to the provider's dialect. Each new dialect needs a
    translation from chat only; what a step cannot map is noted by that step."""

    __slots__ = ("first", "second", "upstream")

    def __init__(self, first: Translation, second: Translation) -> None:
        self.first = first
        self.second = second
        self.upstream = second.upstream

    @property
    def notes(self) -> list[str]:
        return [*self.first.notes, *self.second.notes]

    def local_answer(self, body: dict[str, Any], model: str) -> dict[str, Any] | None:
        return self.first.local_answer(body, model)

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.second.request(self.first.request(body))

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.first.answer(self.second.answer(obj))

    def error(self, status: int, body: bytes) -> bytes:
        return self.first.error(status, self.second.error(status, body))

    def stream(self, event: Event) -> list[Event]:
        first = self.first
        return [out for chat in self.second.stream(event) for out in first.stream(chat)]

    def finish(self) -> list[Event]:
        first = self.first
        out = [item for chat in self.second.finish() for item in first.stream(chat)]
        out.extend(first.finish())
        return out
