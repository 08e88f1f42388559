"""From the provider's response to the client's: relayed as it arrives, usage read on the way.

Non-stream answers are relayed with their status and body unchanged (errors included) unless a
response guardrail changes them or the provider speaks another dialect (then the answer, or the
error, is translated). Streams go through the Rust SSE parser chunk by chunk: each network chunk
is forwarded as soon as it is read, unless the gateway changes events (guardrails, translation,
usage it asked for on its own), in which case they are parsed and framed again.
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

from palisade._core import SseEvent
from palisade.disconnect import ClientDisconnected, DisconnectWatch, ShuttingDown
from palisade.errors import UpstreamTimeout, UpstreamUnreachable
from palisade.exchange import stamp
from palisade.pipeline.context import RequestContext
from palisade.pipeline.guard_out import StreamBlocked, StreamGuard, guard_answer
from palisade.providers.base import Event, StreamParser, StreamTransform
from palisade.upstream.client import RawHeaders, client_headers

log = logging.getLogger("palisade.upstream")


async def relay(
    ctx: RequestContext,
    resp: aiohttp.ClientResponse,
    *,
    body: bytes | None = None,
    first: FirstChunk | None = None,
) -> Response:
    """`body`: a whole answer the attempt already read (an error it judged); `first`: a
    stream's first chunk, read (and parsed) while the attempt could still move on."""
    ctx.status = resp.status
    assert ctx.target is not None
    headers = client_headers(resp.raw_headers, ctx.target.provider)
    deployment = ctx.deployment
    attempts = ctx.attempts
    # Who served, when routing had a choice to make (a model under `models`, a retry, a
    # fallback). A model reached directly in one call was served by the provider it names: the
    # three headers would say nothing new, and cost it about 3 us (Granian's headers).
    if (
        deployment is not None
        and attempts
        and (deployment.tracked or len(attempts) > 1 or ctx.chain_step)
    ):
        headers.extend(deployment.served)
        count = len(attempts)
        headers.append((ATTEMPTS_HEADER, _COUNTS[count] if count < 10 else str(count).encode()))
    if ctx.translation is not None:
        headers.extend(translation_headers(ctx))
    if ctx.dropped:
        headers.append((DROPPED_HEADER, _header_text("; ".join(ctx.dropped))))
    if ctx.downgraded_from is not None:
        headers.append((DOWNGRADED_HEADER, _header_text(ctx.downgraded_from)))
    stamp(headers, ctx.request_id, has_x_request_id="x-request-id" in resp.headers)
    content_type = resp.headers.get("content-type", "")
    if resp.status == 200 and content_type.startswith(ctx.upstream_surface.stream_type):
        if (
            ctx.translation is not None
            and ctx.surface.stream_type != ctx.upstream_surface.stream_type
        ):
            # Translated to a stream of another framing (NDJSON for SSE): its own type.
            headers = [h for h in headers if h[0].lower() != b"content-type"]
            headers.append((b"content-type", ctx.surface.stream_type.encode()))
        return SseResponse(_stream(ctx, resp, first), headers, resp, ctx)
    if body is None:
        try:
            body = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            resp.close()
            raise _broke_off(ctx, exc) from None
        finally:
            resp.release()
    else:
        resp.release()
    translation = ctx.translation
    if resp.status == 200 and content_type.startswith("application/json"):
        obj = _json_object(body)
        if obj is not None:
            ctx.usage_source = obj
            if translation is not None:
                obj = translation.answer(obj)
                body = orjson.dumps(obj)
            if ctx.guards.on_answer:
                body = guard_answer(ctx, body, obj)
    elif translation is not None and resp.status >= 400:
        body = translation.error(resp.status, body)
    return raw_response(body, resp.status, headers)


def _broke_off(ctx: RequestContext, exc: Exception) -> UpstreamTimeout | UpstreamUnreachable:
    """A whole answer that stopped while the gateway read it (a plain function: a coroutine
    of its own would cost every request a frame)."""
    name = _provider(ctx)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return UpstreamTimeout(f"Palisade: provider `{name}` stopped answering mid-response.")
    return UpstreamUnreachable(
        f"Palisade: the connection to provider `{name}` broke mid-response ({type(exc).__name__})."
    )


TRANSLATED_HEADER = b"x-palisade-translated"
NOTES_HEADER = b"x-palisade-translation-notes"
# How many calls the answer took (retries and fallbacks included); the deployment's own
# headers name the model and the provider that served it (`Deployment.served`).
ATTEMPTS_HEADER = b"x-palisade-attempts"
_COUNTS = tuple(str(n).encode() for n in range(10))
# Request fields the provider refuses, dropped on the way (`providers.quirks`).
DROPPED_HEADER = b"x-palisade-dropped-params"
# The model the client asked for, when a downgrade rule sent the request to a cheaper one.
DOWNGRADED_HEADER = b"x-palisade-downgraded-from"
_NOTES_MAX = 2048


def translation_headers(ctx: RequestContext) -> RawHeaders:
    """Which dialect the provider spoke, and what of the request had no equivalent there (also
    in the interaction record). Notes name fields, some of them the client's own: anything but
    printable ASCII is replaced, so no note can split or forge a header."""
    assert ctx.translation is not None
    upstream = ctx.translation.upstream
    out = [(TRANSLATED_HEADER, f"{upstream.dialect.name}:{upstream.endpoint}".encode())]
    notes = ctx.translation.notes
    if notes:
        out.append((NOTES_HEADER, _header_text("; ".join(notes))))
    return out


def _header_text(text: str) -> bytes:
    return "".join(c if " " <= c <= "~" else "?" for c in text[:_NOTES_MAX]).encode()


def local_answer(ctx: RequestContext, obj: dict[str, Any]) -> Response:
    """An answer the gateway made itself (the translation's), recorded like a provider's."""
    ctx.status = 200
    ctx.usage = ctx.surface.usage(obj)
    headers: RawHeaders = [(b"content-type", b"application/json")]
    stamp(headers, ctx.request_id, has_x_request_id=False)
    return raw_response(orjson.dumps(obj), 200, headers)


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
            event = self.ctx.surface.dialect.error_event(exc)
            self.sent.append(event)
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": event, "more_body": False})
        finally:
            self.upstream.close()


class FirstChunk:
    """A stream's first chunk, read and parsed before the gateway committed to the attempt:
    the parser goes on from there, so the chunk is parsed once."""

    __slots__ = ("chunk", "events", "parser")

    def __init__(self, chunk: bytes, parser: StreamParser) -> None:
        self.chunk = chunk
        self.parser = parser
        self.events = parser.feed(chunk)


async def _stream(
    ctx: RequestContext, resp: aiohttp.ClientResponse, first: FirstChunk | None
) -> AsyncIterator[bytes]:
    surface = ctx.surface
    upstream = ctx.upstream_surface
    parser = upstream.stream_parser() if first is None else first.parser
    guard = StreamGuard(ctx) if ctx.guards.on_answer else None
    rewrite = None
    if guard is not None or ctx.translation is not None:
        rewrite = _Rewrite(ctx, None if guard is None else surface.stream_guard(guard))
    hide = ctx.injected_stream_usage
    # `readany` awaited in a loop rather than `iter_any()`: the same reads (an empty chunk is
    # the end) without the iterator's frame per chunk, and a held first chunk without an
    # async generator in front of every later one.
    read = resp.content.readany
    try:
        if first is None:
            chunk, events = await read(), None
        else:
            chunk, events = first.chunk, first.events
        while chunk:
            if ctx.first_chunk_at is None:
                ctx.first_chunk_at = time.perf_counter()
            if events is None:
                events = parser.feed(chunk)
            if rewrite is not None:
                try:
                    out = rewrite.events(events)
                except StreamBlocked as blocked:
                    ctx.error_code = blocked.error.code
                    yield surface.dialect.error_event(blocked.error)
                    return
                if out:
                    yield out
            elif hide:
                out = surface.hide_usage(ctx, events)
                if out:
                    yield out
            else:
                upstream.read_usage(ctx, events)
                yield chunk
            chunk, events = await read(), None
        if rewrite is not None:
            out = rewrite.finish()
            if out:
                yield out
        if guard is not None:
            guard.finish()
        if parser.finish():
            log.warning("stream from %s ended mid-event", _provider(ctx))
            ctx.error_code = "upstream_stream_interrupted"
            yield surface.dialect.error_event(_broken())
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("stream from %s broke off: %s", _provider(ctx), type(exc).__name__)
        # The client must see an error, not a clean end: the SDKs raise on an `error` event.
        ctx.error_code = "upstream_stream_interrupted"
        yield surface.dialect.error_event(_broken())
    except StreamBlocked as blocked:  # held text judged at the end
        ctx.error_code = blocked.error.code
        yield surface.dialect.error_event(blocked.error)
    finally:
        # Cancellation (client gone) lands here too: closing drops the upstream connection,
        # which is how the provider learns to stop generating.
        resp.close()


def _broken() -> UpstreamUnreachable:
    return UpstreamUnreachable(
        "Palisade: the provider's stream broke off before it was complete.",
        code="upstream_stream_interrupted",
    )


class _Rewrite:
    """A stream whose events the gateway changes: parsed, their usage read on the provider's
    side, translated to the client's dialect if it differs, guarded, framed again."""

    __slots__ = ("ctx", "surface", "transform", "translation", "upstream")

    def __init__(self, ctx: RequestContext, transform: StreamTransform | None) -> None:
        self.ctx = ctx
        self.surface = ctx.surface
        self.upstream = ctx.upstream_surface
        self.translation = ctx.translation
        self.transform = transform

    def events(self, events: list[SseEvent]) -> bytes:
        parts: list[bytes] = []
        upstream, translation = self.upstream, self.translation
        for event in events:
            data = event.data
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                if not upstream.take_usage(self.ctx, obj):
                    continue
                item: Event = (event.event, obj)
            else:
                item = (event.event, data)  # `[DONE]` and anything not an object
            if translation is None:
                self._send(item, parts)
            else:
                for translated in translation.stream(item):
                    self._send(translated, parts)
        return b"".join(parts)

    def finish(self) -> bytes:
        parts: list[bytes] = []
        if self.translation is not None:
            for item in self.translation.finish():
                self._send(item, parts)
        return b"".join(parts)

    def _send(self, item: Event, parts: list[bytes]) -> None:
        surface = self.surface
        if self.transform is None or not isinstance(item[1], dict):
            parts.append(surface.frame(item))
            return
        for out in self.transform.transform(item):
            parts.append(surface.frame(out))


def _json_object(body: bytes | str) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _provider(ctx: RequestContext) -> str:
    return ctx.target.provider.name if ctx.target else "upstream"
