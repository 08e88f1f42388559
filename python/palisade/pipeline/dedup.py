"""Stage 3: request deduplication by `Idempotency-Key` / `X-Idempotency-Key`.

A keyed request runs at most once within `dedup.ttl_s`: the first takes a lock in the store and
runs; duplicates wait for it (in this worker on a future, across workers by polling the store)
and get its answer, status, headers and body, a stream as the same SSE bytes; later duplicates
get the stored answer with `x-palisade-idempotent-replay: true`. The key is scoped to the proxy
and the virtual key, so a caller never sees another caller's answer. Errors are not stored: the
lock is released and the next duplicate runs. An executor renews its lock while it works; if it
dies, the lock expires after `dedup.lock_ttl_s` and a waiter takes over.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from prometheus_client import Counter
from starlette.datastructures import Headers
from starlette.responses import Response

from palisade.config import DedupConfig
from palisade.errors import BadRequest, GatewayError
from palisade.pipeline.context import RequestContext
from palisade.pipeline.limits import LIMITED, store_failed, unavailable
from palisade.store.limits_store import LimitsStore, StoreUnavailable
from palisade.upstream.relay import SseResponse

REPLAY_HEADER = b"x-palisade-idempotent-replay"
_MAX_KEY_CHARS = 255
_POLL_FIRST_S = 0.005
_POLL_MAX_S = 0.05
# Not part of a stored answer: per-response or per-request values.
_NOT_STORED = frozenset({b"content-length", b"x-palisade-request-id", b"date", b"server"})

DEDUP = Counter(
    "palisade_dedup_requests_total",
    "Requests with an idempotency key, by role: first (ran), replay (served a stored answer), "
    "mismatch (same key, another body).",
    ["role"],
)


class IdempotencyKeyReused(GatewayError):
    status = 422
    code = "idempotency_key_reused"


def idempotency_key(headers: Headers) -> str | None:
    value = headers.get("idempotency-key")
    if value is None:
        value = headers.get("x-idempotency-key")
    if value is None:
        return None
    if not value or len(value) > _MAX_KEY_CHARS:
        raise BadRequest(
            f"Palisade: an idempotency key must have 1 to {_MAX_KEY_CHARS} characters.",
            code="invalid_idempotency_key",
        )
    return value


def encode_answer(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    kept = [
        (n.decode("latin-1"), v.decode("latin-1"))
        for n, v in headers
        if n.lower() not in _NOT_STORED and not n.lower().startswith(b"x-ratelimit-")
    ]
    return orjson.dumps([status, kept]) + b"\n" + body


def replay(ctx: RequestContext, answer: bytes) -> Response:
    head, _, body = answer.partition(b"\n")
    status, headers = orjson.loads(head)
    response = Response(body, status_code=status)
    response.raw_headers.extend((n.encode("latin-1"), v.encode("latin-1")) for n, v in headers)
    response.raw_headers.append((REPLAY_HEADER, b"true"))
    ctx.dedup, ctx.status = "replay", status
    DEDUP.labels("replay").inc()
    return response


class Dedup:
    def __init__(self, config: DedupConfig, store: LimitsStore, *, fail_closed: bool) -> None:
        self._store = store
        self._fail_closed = fail_closed
        self._lock_ms = round(config.lock_ttl_s * 1000)
        self._ttl_ms = round(config.ttl_s * 1000)
        self._max_bytes = config.max_answer_bytes
        # Executions running in this worker: their duplicates here wait on the future.
        self._local: dict[str, asyncio.Future[bytes | None]] = {}
        self._pending: set[asyncio.Task[None]] = set()

    async def run(
        self, ctx: RequestContext, idem: str, call: Callable[[], Awaitable[Response]]
    ) -> Response:
        scope = f"{len(ctx.proxy_id)}:{ctx.proxy_id}|{ctx.key_id or ''}|{idem}"
        key = "pl:d:" + hashlib.blake2b(scope.encode(), digest_size=16).hexdigest()
        fingerprint = hashlib.blake2b(
            ctx.endpoint.encode() + b"\0" + ctx.raw_body, digest_size=16
        ).hexdigest()
        delay = _POLL_FIRST_S
        while True:
            try:
                claim = await self._store.claim(key, fingerprint, ctx.request_id, self._lock_ms)
            except StoreUnavailable as exc:
                store_failed("dedup", exc)
                if self._fail_closed:
                    LIMITED.labels("store_unavailable").inc()
                    ctx.error_code = "limits_unavailable"
                    raise unavailable() from None
                return await call()
            if claim.state == "run":
                return await self._execute(ctx, key, call)
            if claim.state == "done" and claim.answer is not None:
                return replay(ctx, claim.answer)
            if claim.state == "mismatch":
                DEDUP.labels("mismatch").inc()
                ctx.error_code = IdempotencyKeyReused.code
                raise IdempotencyKeyReused(
                    "Palisade: this idempotency key was already used with a different request "
                    "body; use a new key for a new request.",
                    param="Idempotency-Key",
                )
            local = self._local.get(key)
            if local is not None:
                answer = await asyncio.shield(local)
                if answer is not None:
                    return replay(ctx, answer)
                continue  # the first one failed; this one may run it now
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX_S)

    async def _execute(
        self, ctx: RequestContext, key: str, call: Callable[[], Awaitable[Response]]
    ) -> Response:
        ctx.dedup = "first"
        DEDUP.labels("first").inc()
        owner = ctx.request_id
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes | None] = loop.create_future()
        self._local[key] = future
        heartbeat = loop.create_task(self._heartbeat(key, owner))

        async def done(answer: bytes | None) -> None:
            heartbeat.cancel()
            try:
                await self._store.finish(key, owner, answer, self._ttl_ms)
            except StoreUnavailable as exc:
                store_failed("dedup", exc)
            finally:
                if self._local.get(key) is future:
                    del self._local[key]
                if not future.done():
                    future.set_result(answer)

        try:
            response = await call()
        except BaseException:
            self._soon(done(None))
            raise
        if isinstance(response, SseResponse):
            response.chunks = self._recording(ctx, response, response.chunks, done)
            return response
        body = bytes(response.body)
        storable = 200 <= response.status_code < 300 and len(body) <= self._max_bytes
        await done(
            encode_answer(response.status_code, response.raw_headers, body) if storable else None
        )
        return response

    async def _recording(
        self,
        ctx: RequestContext,
        response: SseResponse,
        chunks: AsyncIterator[bytes],
        done: Callable[[bytes | None], Awaitable[None]],
    ) -> AsyncIterator[bytes]:
        parts: list[bytes] | None = []
        size = 0
        complete = False
        try:
            async for chunk in chunks:
                if parts is not None:
                    size += len(chunk)
                    if size > self._max_bytes:
                        parts = None
                    else:
                        parts.append(chunk)
                yield chunk
            # A stream that ended on an error event (broken, blocked) is an error: not stored.
            complete = ctx.error_code is None
        finally:
            answer = None
            if complete and parts is not None:
                answer = encode_answer(200, response.raw_headers, b"".join(parts))
            self._soon(done(answer))

    async def _heartbeat(self, key: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self._lock_ms / 3000)
            try:
                await self._store.renew(key, owner, self._lock_ms)
            except StoreUnavailable as exc:
                store_failed("dedup", exc)

    def _soon(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
