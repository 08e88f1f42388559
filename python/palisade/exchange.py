"""What every HTTP exchange gets, whatever route answers it: a request id on the answer, a read
deadline on the request body, and `Connection: close` on an answer sent before the body was read.

The outermost ASGI layer (`Exchange`), so that the 404 of an unknown path, an admin route and a
500 get the same as the hot routes. Why each part:

- The id (`x-palisade-request-id`, and `x-request-id` when the provider sent none) lets a client
  find the record of any answer, a refusal included; the hot routes record under the same id.
- A body that does not arrive holds its connection, its worker's connection slot and its memory.
  The deadline is `body_timeout_s` plus one second per `body_min_rate` bytes received, the rule of
  Apache's mod_reqtimeout: a large upload at a fair rate gets the time it needs, a client that
  dribbles a byte every few seconds does not. Past it the read ends in `BodyTimeout` (408).
- An answer sent before the body was read (a 413 for a declared length, a 404 of an unknown path,
  a 408) leaves bytes on the connection that the server discards by closing it. Without
  `Connection: close` a client reuses the doomed connection and its next request fails with
  "Server disconnected" (measured: about 9% of (early 413, next request) pairs with bodies over
  60 KB, none with the header).

Deadlines are checked by one sweep per worker every `SWEEP_S` while any read waits, not by a
timer per request: a read only registers itself in a set while it waits, and a 408 a fraction of
a second late is harmless.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Iterable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from palisade.disconnect import ClientDisconnected
from palisade.errors import GatewayError, PayloadTooLarge
from palisade.telemetry.logs import REQUEST_ID

REQUEST_ID_KEY: Final = "palisade.request_id"
REQUEST_ID_HEADER: Final = b"x-palisade-request-id"
X_REQUEST_ID: Final = b"x-request-id"
SWEEP_S: Final = 0.25

_CLOSE: Final = (b"connection", b"close")
_ID_FORMAT = ""
_ID_COUNTER = itertools.count(1)


def _new_id_source() -> None:
    """Ids unique across workers and restarts (random per process) without uuid4's cost per
    request; renewed in a forked child, which would otherwise repeat its parent's ids."""
    global _ID_FORMAT, _ID_COUNTER
    # The random part goes into the format once: `%` on one string takes 160 ns an id, the
    # f-string that joined prefix and counter 195 ns (measured, Python 3.11).
    _ID_FORMAT = f"req_{os.urandom(6).hex()}%08x"
    _ID_COUNTER = itertools.count(1)


_new_id_source()
os.register_at_fork(after_in_child=_new_id_source)


_set_request_id = REQUEST_ID.set


def next_request_id() -> str:
    return _ID_FORMAT % next(_ID_COUNTER)


class BodyTimeout(GatewayError):
    status = 408
    code = "request_timeout"


class BodyTooLarge(PayloadTooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Palisade: the request body exceeds the gateway's limit of {limit} bytes."
        )


class Deadlines:
    """The body read deadlines of one worker: `body_timeout_s`, then one more second per
    `body_min_rate` bytes, checked by one sweep every `SWEEP_S` while any read waits."""

    __slots__ = ("body_min_rate", "body_timeout_s", "sweeping", "waiting")

    def __init__(self, body_timeout_s: float, body_min_rate: int) -> None:
        self.body_timeout_s = body_timeout_s
        self.body_min_rate = body_min_rate
        self.waiting: set[Body] = set()
        # Read by every body read, which calls `sweep_soon` only when no sweep is due.
        self.sweeping = False

    def sweep_soon(self) -> None:
        if not self.sweeping:
            self.sweeping = True
            asyncio.get_running_loop().call_later(SWEEP_S, self._sweep)

    def _sweep(self) -> None:
        now = time.monotonic()
        for body in [b for b in self.waiting if b.deadline <= now]:
            body.expire()
        self.sweeping = False
        if self.waiting:
            self.sweep_soon()


class Exchange:
    """`Exchange(app, deadlines)`: the ASGI app with the above.

    The hot routes (`pipeline.run.Generation`) do the same themselves and are not wrapped: a
    layer costs a frame on every `receive` and `send` (measured: +3.5% of the gateway's CPU per
    request on the lean bench). Hence also the plain loops and attributes below."""

    def __init__(self, app: ASGIApp, deadlines: Deadlines) -> None:
        self.app = app
        self.deadlines = deadlines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = Body(self.deadlines, receive, scope)
        await self.app(scope, body.receive, body.wrap(send))


class Body:
    """One exchange's request body as the app reads it, and its answer's head."""

    __slots__ = (
        "_deadlines",
        "_receive",
        "_scope",
        "_send",
        "_task",
        "complete",
        "deadline",
        "expired",
        "request_id",
    )

    def __init__(self, deadlines: Deadlines, receive: Receive, scope: Scope) -> None:
        self._deadlines = deadlines
        self._receive = receive
        self._scope = scope
        self.request_id = scope[REQUEST_ID_KEY] = request_id = next_request_id()
        # For the log lines of the request (its task's context is its own). Measured in
        # process (3.11): 37 ns a `set`, 72 ns the first one in a fresh context, as here.
        _set_request_id(request_id)
        self._task: asyncio.Task[object] | None = None
        self.complete = False
        self.expired = False
        self.deadline = 0.0

    def receive(self) -> Awaitable[Message]:
        # Plain functions that hand back the server's own awaitable where they can: a coroutine
        # of ours in between would cost a frame on every call.
        if self.complete:
            # Past the body, a read only waits for the client to leave: no deadline.
            return self._receive()
        return self._read()

    async def _read(self) -> Message:
        deadlines = self._deadlines
        if self._task is None:
            self._start()
        waiting = deadlines.waiting
        waiting.add(self)
        if not deadlines.sweeping:
            deadlines.sweep_soon()
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self.expired:
                raise
            raise self._timed_out() from None
        finally:
            waiting.discard(self)
        if message["type"] == "http.request":
            if message.get("more_body", False):
                self.deadline += len(message.get("body", b"")) / deadlines.body_min_rate
            else:
                self.complete = True
        return message

    async def read(self, limit: int) -> bytes:
        """The whole body, past `limit` bytes `BodyTooLarge`, `ClientDisconnected` when the
        client leaves; the deadline of `receive`. What `receive` does for each message, in one
        frame for the whole body rather than one more per message: the hot routes read theirs
        here (measured in process, with the cheaper ids: Body, read and stamp 3.24 -> 3.05 us a
        request; of what is left, `asyncio.current_task` alone takes 0.17 us on 3.11)."""
        deadlines = self._deadlines
        if self._task is None:
            self._start()
        waiting = deadlines.waiting
        chunks: list[bytes] = []
        size = 0
        while True:
            waiting.add(self)
            if not deadlines.sweeping:
                deadlines.sweep_soon()
            try:
                message = await self._receive()
            except asyncio.CancelledError:
                if not self.expired:
                    raise
                raise self._timed_out() from None
            finally:
                waiting.discard(self)
            if message["type"] != "http.request":
                raise ClientDisconnected
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            if not message.get("more_body", False):
                self.complete = True
                if not chunks:
                    return chunk
                chunks.append(chunk)
                return b"".join(chunks)
            chunks.append(chunk)
            self.deadline += len(chunk) / deadlines.body_min_rate

    def _start(self) -> None:
        # The deadline runs from the first read, not from the request's arrival.
        self._task = asyncio.current_task()
        self.deadline = time.monotonic() + self._deadlines.body_timeout_s

    def _timed_out(self) -> BodyTimeout:
        """The 408 of an expired read, its task no longer cancelled."""
        assert self._task is not None
        self._task.uncancel()
        deadlines = self._deadlines
        return BodyTimeout(
            "Palisade: the request body did not arrive in time "
            f"({deadlines.body_timeout_s:g} s, then at least "
            f"{deadlines.body_min_rate} bytes per second).",
            status=408,
        )

    def expire(self) -> None:
        if self._task is not None and not self.expired:
            self.expired = True
            self._task.cancel()

    def wrap(self, send: Send) -> Send:
        self._send = send
        return self.send

    def send(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            message["headers"] = self.head(message.get("headers", ()))
        return self._send(message)

    def head(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """An answer's headers with the ids (unless `stamp` put them there) and, when the body
        was not read to its end, `Connection: close`."""
        if isinstance(headers, list) and headers and headers[-1][0] == REQUEST_ID_HEADER:
            # Stamped by the route that forwarded a provider's answer (`stamp`): the hot path.
            out = headers
        else:
            out = stamped(headers, self.request_id)
        if not self.complete and may_leave_bytes(self._scope):
            out.append(_CLOSE)
        return out


def stamp(headers: list[tuple[bytes, bytes]], request_id: str, *, has_x_request_id: bool) -> None:
    """Puts the ids on a forwarded answer's headers where the route already knows whether the
    provider sent its own `x-request-id` (a case-insensitive lookup in the provider's header
    map), sparing the exchange its scan of every header name on the hot path."""
    rid = request_id.encode()
    if not has_x_request_id:
        headers.append((X_REQUEST_ID, rid))
    headers.append((REQUEST_ID_HEADER, rid))


def stamped(headers: Iterable[tuple[bytes, bytes]], request_id: str) -> list[tuple[bytes, bytes]]:
    """The headers with `x-request-id` (unless present) and `x-palisade-request-id`."""
    out = list(headers)
    rid = request_id.encode()
    # The length first: most names are not 12 bytes long, and lower() makes an object.
    for name, _ in out:
        if len(name) == 12 and name.lower() == X_REQUEST_ID:
            break
    else:
        out.append((X_REQUEST_ID, rid))
    out.append((REQUEST_ID_HEADER, rid))
    return out


def close_header() -> tuple[bytes, bytes]:
    return _CLOSE


def may_leave_bytes(scope: Scope) -> bool:
    """Whether the request has a body that can be left unread on an HTTP/1.1 connection (an
    HTTP/2 stream ends on its own, and the header is forbidden there)."""
    if scope.get("http_version") == "2":
        return False
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False
