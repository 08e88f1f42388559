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
from collections.abc import Iterable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from palisade.errors import GatewayError

REQUEST_ID_KEY: Final = "palisade.request_id"
REQUEST_ID_HEADER: Final = b"x-palisade-request-id"
SWEEP_S: Final = 0.25

_X_REQUEST_ID: Final = b"x-request-id"
_CLOSE: Final = (b"connection", b"close")
_ID_PREFIX = ""
_ID_COUNTER = itertools.count(1)


def _new_id_source() -> None:
    """Ids unique across workers and restarts (random per process) without uuid4's cost per
    request; renewed in a forked child, which would otherwise repeat its parent's ids."""
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX = f"req_{os.urandom(6).hex()}"
    _ID_COUNTER = itertools.count(1)


_new_id_source()
os.register_at_fork(after_in_child=_new_id_source)


def next_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


class BodyTimeout(GatewayError):
    status = 408
    code = "request_timeout"


class Exchange:
    """`Exchange(app, body_timeout_s=..., body_min_rate=...)`: the ASGI app with the above."""

    def __init__(self, app: ASGIApp, *, body_timeout_s: float, body_min_rate: int) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s
        self.body_min_rate = body_min_rate
        self._waiting: set[_Body] = set()
        self._sweeping = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = next_request_id()
        scope[REQUEST_ID_KEY] = request_id
        body = _Body(self, receive, scope, request_id.encode())
        await self.app(scope, body.receive, body.make_send(send))

    def wait(self, body: _Body) -> None:
        self._waiting.add(body)
        if not self._sweeping:
            self._sweeping = True
            asyncio.get_running_loop().call_later(SWEEP_S, self._sweep)

    def done(self, body: _Body) -> None:
        self._waiting.discard(body)

    def _sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        for body in [b for b in self._waiting if b.deadline <= now]:
            body.expire()
        self._sweeping = False
        if self._waiting:
            self._sweeping = True
            asyncio.get_running_loop().call_later(SWEEP_S, self._sweep)


class _Body:
    """One exchange's request body as the app reads it, and its answer's head."""

    __slots__ = (
        "_exchange",
        "_receive",
        "_request_id",
        "_scope",
        "_task",
        "complete",
        "deadline",
        "expired",
    )

    def __init__(
        self, exchange: Exchange, receive: Receive, scope: Scope, request_id: bytes
    ) -> None:
        self._exchange = exchange
        self._receive = receive
        self._scope = scope
        self._request_id = request_id
        self._task: asyncio.Task[object] | None = None
        self.complete = False
        self.expired = False
        self.deadline = asyncio.get_running_loop().time() + exchange.body_timeout_s

    async def receive(self) -> Message:
        if self.complete:
            # Past the body, a read only waits for the client to leave: no deadline.
            return await self._receive()
        self._task = asyncio.current_task()
        self._exchange.wait(self)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self.expired:
                raise
            assert self._task is not None
            self._task.uncancel()
            raise BodyTimeout(
                "Palisade: the request body did not arrive in time "
                f"({self._exchange.body_timeout_s:g} s, then at least "
                f"{self._exchange.body_min_rate} bytes per second).",
                status=408,
            ) from None
        finally:
            self._exchange.done(self)
        if message["type"] == "http.request":
            if message.get("more_body", False):
                self.deadline += len(message.get("body", b"")) / self._exchange.body_min_rate
            else:
                self.complete = True
        return message

    def expire(self) -> None:
        if self._task is not None and not self.expired:
            self.expired = True
            self._task.cancel()

    def make_send(self, send: Send) -> Send:
        async def send_with_head(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self._head(message.get("headers", ()))}
            await send(message)

        return send_with_head

    def _head(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        out = list(headers)
        if not any(name.lower() == _X_REQUEST_ID for name, _ in out):
            out.append((_X_REQUEST_ID, self._request_id))
        out.append((REQUEST_ID_HEADER, self._request_id))
        if not self.complete and _may_leave_bytes(self._scope):
            out.append(_CLOSE)
        return out


def _may_leave_bytes(scope: Scope) -> bool:
    """Whether the request has a body that can be left unread on an HTTP/1.1 connection (an
    HTTP/2 stream ends on its own, and the header is forbidden there)."""
    if scope.get("http_version") == "2":
        return False
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False
