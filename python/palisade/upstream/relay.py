"""From the provider's response to the client's: relayed as it arrives, usage read on the way.

Non-stream answers are relayed with their status and body unchanged (errors included). Streams
go through the Rust SSE parser chunk by chunk: each network chunk is forwarded as soon as it is
read, unless the gateway injected `stream_options.include_usage`, in which case the events are
re-framed without the usage fields the client did not ask for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from palisade._core import SseEvent, SseParser
from palisade.disconnect import ClientDisconnected, DisconnectWatch, ShuttingDown
from palisade.errors import GatewayError, UpstreamTimeout, UpstreamUnreachable
from palisade.exchange import stamp
from palisade.pipeline.context import RequestContext
from palisade.pipeline.guard_out import StreamBlocked, StreamGuard, guard_answer
from palisade.upstream.client import RawHeaders, client_headers

log = logging.getLogger("palisade.upstream")


def _error_event(error: GatewayError) -> bytes:
    """An error as the last event of an OpenAI stream: the SDKs raise on it."""
    return b"data: " + orjson.dumps(error.body()) + b"\n\n"


_STREAM_BROKEN = _error_event(
    UpstreamUnreachable(
        "Palisade: the provider's stream broke off before it was complete.",
        code="upstream_stream_interrupted",
    )
)


async def relay(ctx: RequestContext, resp: aiohttp.ClientResponse) -> Response:
    ctx.status = resp.status
    assert ctx.target is not None
    headers = client_headers(resp.raw_headers, ctx.target.provider)
    stamp(headers, ctx.request_id, has_x_request_id="x-request-id" in resp.headers)
    content_type = resp.headers.get("content-type", "")
    if resp.status == 200 and content_type.startswith("text/event-stream"):
        return SseResponse(_stream(ctx, resp), headers, resp, ctx)
    try:
        body = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        resp.close()
        name = ctx.target.provider.name if ctx.target else "upstream"
        if isinstance(exc, TimeoutError | asyncio.TimeoutError):
            raise UpstreamTimeout(
                f"Palisade: provider `{name}` stopped answering mid-response."
            ) from None
        raise UpstreamUnreachable(
            f"Palisade: the connection to provider `{name}` broke mid-response "
            f"({type(exc).__name__})."
        ) from None
    finally:
        resp.release()
    if resp.status == 200 and content_type.startswith("application/json"):
        obj = _json_object(body)
        if obj is not None:
            ctx.usage = _usage_in(obj)
            if ctx.guards.on_answer:
                body = guard_answer(ctx, body, obj)
    return raw_response(body, resp.status, headers)


def raw_response(body: bytes, status: int, headers: RawHeaders) -> Response:
    response = Response(body, status_code=status)  # sets content-length only
    response.raw_headers.extend(headers)
    return response


class SseResponse(Response):
    """Relays a stream chunk by chunk. Starlette's StreamingResponse would open an anyio task
    group per response to listen for a disconnect (Granian speaks ASGI 2.3), a large share of a
    streamed request's CPU; `DisconnectWatch` does the same job with one late-started task."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        headers: RawHeaders,
        upstream: aiohttp.ClientResponse,
        ctx: RequestContext,
    ) -> None:
        self.chunks = chunks
        self.upstream = upstream
        self.status_code = 200
        self.raw_headers = headers
        self.ctx = ctx
        # What the client got, for the interaction record (and for counting the tokens of a
        # stream that ends without the provider's usage).
        self.sent: list[bytes] = []
        ctx.sent_chunks = self.sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False
        try:
            async with DisconnectWatch(receive):
                await send(
                    {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                )
                started = True
                async for chunk in self.chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    self.sent.append(chunk)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (ClientDisconnected, OSError):
            # The client is gone; closing the upstream below tells the provider.
            self.ctx.error_code = self.ctx.error_code or "client_disconnected"
        except ShuttingDown as exc:
            # The shutdown grace is over: an error event, never a clean end.
            self.ctx.error_code = exc.code
            if not started:
                await exc.to_response()(scope, receive, send)
                return
            event = _error_event(exc)
            self.sent.append(event)
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": event, "more_body": False})
        finally:
            self.upstream.close()


async def _stream(ctx: RequestContext, resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    parser = SseParser()
    guard = StreamGuard(ctx) if ctx.guards.on_answer else None
    strip = ctx.injected_stream_usage
    try:
        async for chunk in resp.content.iter_any():
            if ctx.first_chunk_at is None:
                ctx.first_chunk_at = time.perf_counter()
            events = parser.feed(chunk)
            if guard is not None:
                try:
                    out = _guarded(ctx, guard, events)
                except StreamBlocked as blocked:
                    ctx.error_code = blocked.error.code
                    yield _error_event(blocked.error)
                    return
                if out:
                    yield out
            elif strip:
                out = _reframe(ctx, events)
                if out:
                    yield out
            else:
                _read_usage(ctx, events)
                yield chunk
        if guard is not None:
            guard.finish()
        if parser.finish():
            log.warning("stream from %s ended mid-event", _provider(ctx))
            ctx.error_code = "upstream_stream_interrupted"
            yield _STREAM_BROKEN
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("stream from %s broke off: %s", _provider(ctx), type(exc).__name__)
        # The client must see an error, not a clean end: the SDKs raise on an `error` event.
        ctx.error_code = "upstream_stream_interrupted"
        yield _STREAM_BROKEN
    finally:
        # Cancellation (client gone) lands here too: closing drops the upstream connection,
        # which is how the provider learns to stop generating.
        resp.close()


# With include_usage on, every chunk carries this; its compact form is removed as bytes, without
# a JSON round trip. In valid JSON the sequence can only be a real key, never string content.
_USAGE_NULL = ',"usage":null'


def _has_usage_value(data: str) -> bool:
    """True when the event may carry a usage object (not just `"usage":null`)."""
    count = data.count('"usage"')
    return count > 1 or (count == 1 and _USAGE_NULL not in data)


def _reframe(ctx: RequestContext, events: list[SseEvent]) -> bytes:
    parts: list[bytes] = []
    for event in events:
        data = event.data
        if not _has_usage_value(data):
            data = data.replace(_USAGE_NULL, "", 1)
        if '"usage"' in data:
            obj = orjson.loads(data)
            if isinstance(obj, dict) and not _take_usage(ctx, obj):
                continue
            data = orjson.dumps(obj).decode()
        parts.append(_frame(event, data))
    return b"".join(parts)


def _take_usage(ctx: RequestContext, obj: dict[str, Any]) -> bool:
    """Reads the event's usage, and hides it when the gateway asked for it on its own; False
    for the usage-only chunk the client did not ask for."""
    if not ctx.injected_stream_usage:
        usage = _usage_in(obj)
        if usage is not None:
            ctx.usage = usage
        return True
    if "usage" not in obj:
        return True
    usage = obj.pop("usage")
    if usage:
        ctx.usage = usage
        return bool(obj.get("choices"))
    return True


def _guarded(ctx: RequestContext, guard: StreamGuard, events: list[SseEvent]) -> bytes:
    parts: list[bytes] = []
    for event in events:
        try:
            obj = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            parts.append(_frame(event, event.data))  # `[DONE]` and anything not an object
            continue
        if not _take_usage(ctx, obj):
            continue
        for out in guard.transform(obj):
            # Events the guard added (a released tail, a notice) carry their own type.
            name = out.get("type") if event.event != "message" else None
            parts.append(_frame(event, orjson.dumps(out).decode(), name))
    return b"".join(parts)


def _frame(event: SseEvent, data: str, name: object = None) -> bytes:
    kind = name if isinstance(name, str) else event.event
    if kind == "message" and "\n" not in data:
        return b"data: " + data.encode() + b"\n\n"
    head = "" if kind == "message" else f"event: {kind}\n"
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"{head}{lines}\n".encode()


def _read_usage(ctx: RequestContext, events: list[SseEvent]) -> None:
    for event in events:
        if _has_usage_value(event.data):
            usage = _usage_of(event.data)
            if usage:
                ctx.usage = usage


def _json_object(body: bytes | str) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _usage_of(body: bytes | str) -> dict[str, Any] | None:
    obj = _json_object(body)
    return None if obj is None else _usage_in(obj)


def _usage_in(obj: dict[str, Any]) -> dict[str, Any] | None:
    usage = obj.get("usage")
    if usage is None and isinstance(obj.get("response"), dict):
        usage = obj["response"].get("usage")  # Responses API: response.completed
    return usage if isinstance(usage, dict) else None


def _provider(ctx: RequestContext) -> str:
    return ctx.target.provider.name if ctx.target else "upstream"
