"""Server-sent events: encoding, and a streaming response that can also break off mid-body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

DONE = b"data: [DONE]\n\n"


def data_event(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def named_event(event: str, payload: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


async def breaking_off(
    events: AsyncGenerator[bytes, None], after: int, last: bytes
) -> AsyncGenerator[bytes, None]:
    """`after` events, then `last`: the error event a provider ends a failed generation with."""
    sent = 0
    try:
        async for event in events:
            if sent == after:
                break
            yield event
            sent += 1
    finally:
        await events.aclose()
    yield last


async def pause(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)


class EventStream(StreamingResponse):
    """Sends each event as its own body message, so that it is flushed as soon as it exists.

    With `abort_after` set, the response ends after that many events WITHOUT the final empty
    body message: the server then closes the connection and the client sees a chunked body
    that never terminated, which is what a provider dropping the connection looks like.
    """

    def __init__(
        self,
        events: AsyncIterator[bytes],
        *,
        abort_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(events, headers=headers, media_type="text/event-stream")
        self.abort_after = abort_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        events: Any = self.body_iterator
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        sent = 0
        try:
            async for event in events:
                if sent == self.abort_after:
                    break
                await send({"type": "http.response.body", "body": event, "more_body": True})
                sent += 1
            if self.abort_after is not None:
                if sent == 0:
                    # The server sends the status line with the first body message only.
                    await send({"type": "http.response.body", "body": b"", "more_body": True})
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return  # the client went away: nothing left to tell it
        finally:
            await events.aclose()
