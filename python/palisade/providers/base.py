"""The dialect protocol: what the stages need to know about one provider API.

A *dialect* is a family of wire formats (OpenAI's, Anthropic's): how a credential is presented,
how an error is written, what the gateway sends every provider of that kind. A *surface*
is one endpoint of a dialect (OpenAI's chat completions, its Responses API, Anthropic's
messages): where the texts, tool calls and usage sit in its bodies and stream events, and how
its streams are guarded and framed. Stages call these and never branch on either.

Everything here runs on every request: the walkers build lists rather than chains of
generators, and a surface is a module-level object built once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, Protocol

from palisade._core import SseEvent, SseParser
from palisade.errors import GatewayError
from palisade.pricing import Usage

Path = tuple[str | int, ...]


class Slot(NamedTuple):
    """A text in a body: `container[key]`, so that a guardrail can replace it in place."""

    container: Any  # dict or list
    key: Any  # str or int
    role: str  # user | system | assistant | tool | tool_call | tool_description | developer
    path: Path
    tool: str | None = None  # tool results: the name of the tool that produced them

    @property
    def text(self) -> str:
        value: str = self.container[self.key]
        return value


class ToolCallSlot(NamedTuple):
    """A tool call in an answer: `holder[position]` is the call (or the item that holds it)."""

    holder: list[Any]
    position: int
    name: str
    arguments: str
    path: Path


# One stream event: its SSE name ("message" when unnamed) and its data, a JSON object or the
# raw text when it is none (`[DONE]`).
Event = tuple[str, Any]


class AnswerGuard(Protocol):
    """What a surface's stream transform asks of the response guardrails; the pipeline builds
    it per request. Keys name one text of the answer (a choice, a content block)."""

    @property
    def holds_calls(self) -> bool:
        """Tool calls must be held until complete (a policy, a scan or a mask applies)."""

    @property
    def checks_calls(self) -> bool:
        """Tool policies apply."""

    def feed(self, key: tuple[int, int], text: str, where: str) -> str:
        """A piece of streamed text: what may be sent now (the rest is held back)."""

    def flush(self, key: tuple[int, int]) -> str:
        """The text is complete: what was still held back."""

    def arguments(self, arguments: str, path: Path) -> str:
        """A complete tool call's arguments, redacted and un-masked (decisions recorded)."""

    def whole(self, text: str) -> str:
        """A text the stream repeats in full: redacted and un-masked, decisions not repeated."""

    def tool_call(self, name: str, arguments: str, where: str) -> str | None:
        """None when the tool policies allow the call, else the notice that replaces it."""

    def finish(self) -> None:
        """The stream ended: whatever is still held is checked (and dropped)."""


class StreamTransform(Protocol):
    """Guards one streamed answer, event by event."""

    def transform(self, event: Event) -> list[Event]:
        """The events to send in the place of `event` (its data may be changed in place)."""


class UsageHolder(Protocol):
    """Where a stream's usage goes (the request context): `usage`, or `usage_source`, an
    object the provider's surface reads it from when something asks."""

    usage: Usage | None
    usage_source: dict[str, Any] | None
    # The gateway asked for stream usage on its own: the client must not see it.
    injected_stream_usage: bool


class Dialect(Protocol):
    @property
    def name(self) -> str: ...

    def credential(self, headers: Mapping[str, str]) -> str | None:
        """The credential a client of this dialect presents, if any."""

    @property
    def credential_hint(self) -> str:
        """Where this dialect's clients put it, for error messages."""

    def error_body(self, error: GatewayError) -> bytes: ...

    def error_event(self, error: GatewayError) -> bytes:
        """The error as a stream's last event: the dialect's SDKs raise on it."""

    def error_type(self, error: GatewayError) -> str:
        """The dialect's error type for a gateway error (its `type` field)."""

    def upstream_headers(self) -> Mapping[str, str]:
        """Headers the gateway sends to every provider of this dialect (a version)."""


class StreamParser(Protocol):
    """Splits a provider's stream into events as its bytes arrive (the Rust SSE parser, or a
    dialect's own framing)."""

    def feed(self, chunk: bytes) -> list[SseEvent]: ...

    def finish(self) -> bool:
        """The stream ended: True when it stopped mid-event."""


class Surface(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    @property
    def endpoint(self) -> str:
        """The endpoint's name in the dialect (`chat/completions`, `generateContent`): the
        record's `endpoint`, and the path under the provider's base URL unless
        `upstream_path` says otherwise."""

    @property
    def stream_type(self) -> str:
        """The content type of the endpoint's streams (`text/event-stream`)."""

    def request_model(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        """The model the request names: its body's `model`, or its path's (`params`, the
        route's path parameters) in the APIs that put it there."""

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        """Whether the answer is to be streamed: the body's `stream`, or the endpoint's."""

    def upstream_path(self, model: str, stream: bool) -> str:
        """The path of the request under the provider's base URL."""

    def set_model(self, body: dict[str, Any], model: str) -> None:
        """Names the provider's model in the body that leaves (nothing where the path names
        it)."""

    def stream_parser(self) -> StreamParser:
        """A parser for one of the endpoint's streams."""

    def request_texts(self, body: dict[str, Any]) -> list[Slot]: ...

    def text_only(self, body: dict[str, Any]) -> bool:
        """The request is text alone: it offers no tools, holds no tool calls or results and
        no images, audio or files, and refers to no state the gateway cannot see (a stored
        conversation, cached content). What cannot be read as such is not text only."""

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        """The prompt as the gateway counts it, for reservations and for a provider that
        reports no usage: one counter, so the two never disagree."""

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        """The most output tokens the request allows, all choices together (`default` when
        it does not say); 0 for a surface that generates none."""

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]: ...

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]: ...

    def replace_blocked(self, obj: dict[str, Any], blocked: list[tuple[ToolCallSlot, str]]) -> None:
        """Blocked tool calls become assistant text that names the rule; the stop reason
        follows."""

    def output_texts(self, obj: dict[str, Any]) -> Iterator[str]:
        """An answer's generated texts, for counting."""

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        """The usage of a whole answer."""

    def read_usage(self, holder: UsageHolder, events: list[SseEvent]) -> None:
        """The usage in stream events relayed unchanged: a look at the raw text first, a parse
        only of the events that may hold it."""

    def take_usage(self, holder: UsageHolder, obj: dict[str, Any]) -> bool:
        """Reads a parsed event's usage; False when the event only carried usage the client did
        not ask for (it is dropped)."""

    def stream_guard(self, guard: AnswerGuard) -> StreamTransform: ...

    def event_texts(self, event: Event) -> Iterator[str]:
        """A stream event's generated texts, for counting."""

    def frame(self, event: Event) -> bytes:
        """An event as SSE bytes for the client."""

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        """Stream events re-framed without the usage the gateway asked for on its own (only
        called after `ask_stream_usage` returned True)."""

    def ask_stream_usage(self, body: dict[str, Any]) -> bool:
        """Asks a stream for its usage when the client did not (True: it must be hidden from
        the client); only for providers that accept the request."""


class BodyNamed:
    """The request parts of the APIs that name the model and ask for a stream in the body,
    and stream SSE (OpenAI's, Anthropic's): a base for their surfaces."""

    endpoint: str
    stream_type = "text/event-stream"

    def request_model(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return body.get("model")

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return body.get("stream", False)

    def upstream_path(self, model: str, stream: bool) -> str:
        return self.endpoint

    def set_model(self, body: dict[str, Any], model: str) -> None:
        body["model"] = model

    def stream_parser(self) -> StreamParser:
        return SseParser()


class PathNamed:
    """The request parts of the APIs that name the model in the path and stream by endpoint
    (Gemini's, Bedrock's Converse): a base for their surfaces."""

    def __init__(self, endpoint: str, *, streams: bool) -> None:
        self.endpoint = endpoint
        self.streams = streams

    def request_model(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return params.get("model")

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return self.streams

    def set_model(self, body: dict[str, Any], model: str) -> None:
        return None  # the path names it
