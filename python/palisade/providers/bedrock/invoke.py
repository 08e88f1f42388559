"""Anthropic on Bedrock: `model/{modelId}/invoke` and `.../invoke-with-response-stream`.

The body is Anthropic's Messages body with `anthropic_version: "bedrock-2023-05-31"` and no
`model` (the path names it); the answer is Anthropic's message. A stream is an AWS event stream
of `chunk` events whose `bytes` member is the base64 of one Anthropic stream event's JSON. So
the surface is Anthropic's Messages surface (its shape, guard and usage, unchanged) with the
model in the path, Bedrock's errors and credentials, and a stream parser and framer that unwrap
and wrap the chunk envelope: the relay, the guards and the usage reader see Anthropic events.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

from palisade._core import EventStreamParser, SseEvent, frame_event, frame_exception
from palisade.errors import BadRequest
from palisade.providers.anthropic.surfaces import MessagesSurface
from palisade.providers.base import Event, StreamParser, UsageHolder
from palisade.providers.bedrock.dialect import BEDROCK
from palisade.providers.bedrock.surfaces import EVENT_STREAM, model_path

ANTHROPIC_VERSION = "bedrock-2023-05-31"


class ChunkParser:
    """AWS event-stream messages -> the Anthropic events in their `chunk`s. Exceptions pass
    as they are (named by their type); a chunk that is not base64 JSON breaks the stream."""

    __slots__ = ("broken", "inner")

    def __init__(self) -> None:
        self.inner = EventStreamParser()
        self.broken = False

    def feed(self, chunk: bytes) -> list[SseEvent]:
        out: list[SseEvent] = []
        for message in self.inner.feed(chunk):
            if message.event != "chunk":
                out.append(message)
                continue
            try:
                wrapped = orjson.loads(message.data)
                text = base64.b64decode(wrapped["bytes"], validate=True).decode()
                kind = orjson.loads(text).get("type")
            except (ValueError, KeyError, TypeError, AttributeError):
                # Not base64 JSON (binascii.Error, orjson's and UTF-8's errors are ValueErrors).
                self.broken = True
                continue
            out.append(SseEvent(kind if isinstance(kind, str) else "message", text))
        return out

    def finish(self) -> bool:
        cut = self.inner.finish() or self.broken
        self.broken = False
        return cut


def frame_chunk(event: Event) -> bytes:
    name, data = event
    payload = orjson.dumps(data) if isinstance(data, dict) else str(data).encode()
    if name.endswith("Exception"):
        return frame_exception(name, payload)
    return frame_event("chunk", b'{"bytes":"' + base64.b64encode(payload) + b'"}')


class InvokeSurface(MessagesSurface):
    dialect = BEDROCK  # type: ignore[assignment]
    stream_type = EVENT_STREAM

    def __init__(self, endpoint: str, streams: bool) -> None:
        super().__init__(endpoint)
        self.streams = streams

    def request_model(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        # Other models' invoke bodies (Titan's `inputText`, Llama's `prompt`) have their texts
        # where no guardrail would look: refused, rather than let through unread.
        if "anthropic_version" not in body:
            raise BadRequest(
                "Palisade: this route takes Anthropic models' Messages bodies "
                f'(`"anthropic_version": "{ANTHROPIC_VERSION}"`); other models go through '
                "`converse`.",
                param="anthropic_version",
            )
        return params.get("model")

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return self.streams

    def upstream_path(self, model: str, stream: bool) -> str:
        return model_path(model, "invoke-with-response-stream" if stream else "invoke")

    def set_model(self, body: dict[str, Any], model: str) -> None:
        return None  # the path names it

    def stream_parser(self) -> StreamParser:
        return ChunkParser()

    def frame(self, event: Event) -> bytes:
        return frame_chunk(event)

    def hide_usage(self, holder: UsageHolder, events: list[SseEvent]) -> bytes:
        return b"".join(frame_chunk((e.event, e.data)) for e in events)


INVOKE = InvokeSurface("invoke", streams=False)
INVOKE_STREAM = InvokeSurface("invoke-with-response-stream", streams=True)
INVOKE_SURFACES = (INVOKE, INVOKE_STREAM)
