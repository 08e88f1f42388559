"""A lean Redis client for the request path: one connection per worker, commands pipelined on
it, replies matched in order (RESP2, parsed by hiredis).

redis-py's asyncio client checks a pooled connection's health before every command, which costs
more than the round trip itself on loopback (60-150 µs against ~20 µs). Stage 3 sends one
script call per request, so this client does only that, fast: writing a command never awaits,
concurrent requests share the connection, and a reply that does not come in time closes the
connection (a late reply would otherwise be matched to the next command; one timer per
connection watches the oldest command); the next call reconnects.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from collections.abc import Sequence
from functools import partial
from typing import cast
from urllib.parse import unquote, urlsplit

import hiredis

Arg = str | bytes | int


class RespError(Exception):
    """An error reply from Redis (`NOSCRIPT ...`, `WRONGTYPE ...`)."""


class RespConnectionError(ConnectionError):
    pass


def encode(args: Sequence[Arg]) -> bytes:
    return b"*%d\r\n%s" % (len(args), _bulks(args))


def _bulks(args: Sequence[Arg]) -> bytes:
    parts = []
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class Command:
    """A command whose leading arguments are encoded once: a script call whose keys and limits
    repeat from request to request encodes only the arguments that change (the clock)."""

    __slots__ = ("_head",)

    def __init__(self, head: Sequence[Arg], tail: int) -> None:
        self._head = b"*%d\r\n%s" % (len(head) + tail, _bulks(head))

    def encode(self, tail: Sequence[Arg]) -> bytes:
        return self._head + _bulks(tail)


class _Protocol(asyncio.Protocol):
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.loop = asyncio.get_running_loop()
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[object]] = deque()
        self.sent_at: deque[float] = deque()
        # One timer per connection, not one per command: it checks the oldest command only.
        self.watchdog: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if not self.waiting:
                continue  # cannot happen on a healthy connection; never crash the loop on it
            future = self.waiting.popleft()
            self.sent_at.popleft()
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(RespError(str(reply)))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RespConnectionError("connection to Redis lost"))

    def send(self, payload: bytes) -> asyncio.Future[object]:
        assert self.transport is not None
        future: asyncio.Future[object] = self.loop.create_future()
        self.waiting.append(future)
        self.sent_at.append(self.loop.time())
        self.transport.write(payload)
        if self.watchdog is None:
            self.watchdog = self.loop.call_later(self.timeout_s, self._watch)
        return future

    def _watch(self) -> None:
        self.watchdog = None
        if not self.waiting:
            return
        left = self.sent_at[0] + self.timeout_s - self.loop.time()
        if left > 0:
            self.watchdog = self.loop.call_later(left, self._watch)
            return
        # A late reply would be matched to the next command: the connection must go.
        self.abort(TimeoutError(f"Redis did not answer within {self.timeout_s:g} s"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)
        self.sent_at.clear()

    def abort(self, error: Exception | None = None) -> None:
        # At once, not when the transport reports the loss: the next call must not reuse it.
        self._fail(error or RespConnectionError("connection to Redis closed"))
        if self.transport is not None:
            self.transport.abort()


class Script:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)

    def command(self, keys: Sequence[Arg], args: Sequence[Arg]) -> bytes:
        """The EVALSHA call of this script, encoded."""
        return encode(self._call(keys, args))

    def prepared(self, keys: Sequence[Arg], args: Sequence[Arg], tail: int) -> Command:
        """The EVALSHA call with `keys` and the leading `args` encoded once; each use adds the
        last `tail` arguments (`Command.encode`)."""
        return Command(self._call(keys, args), tail)

    def _call(self, keys: Sequence[Arg], args: Sequence[Arg]) -> list[Arg]:
        return [b"EVALSHA", self.sha, len(keys), *keys, *args]


class RespClient:
    def __init__(self, url: str, timeout_s: float, scripts: Sequence[Script] = ()) -> None:
        # Loaded on every (re)connect, so that a script call never meets NOSCRIPT after a
        # Redis restart: a call written without waiting (`evalsha_nowait`) keeps its order.
        self._scripts = tuple(scripts)
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("a Redis URL starts with redis:// or rediss://")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._ssl = ssl.create_default_context() if parts.scheme == "rediss" else None
        self._hello: list[bytes] = []
        if parts.password is not None:
            user = unquote(parts.username) if parts.username else None
            auth = [b"AUTH", *([user.encode()] if user else []), unquote(parts.password).encode()]
            self._hello.append(encode(auth))
        db = parts.path.lstrip("/")
        if db and db != "0":
            self._hello.append(encode([b"SELECT", db.encode()]))
        self._timeout_s = timeout_s
        self._conn: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    async def _connection(self) -> _Protocol:
        conn = self._conn
        if conn is not None and not conn.closed:
            return conn
        if self._connecting is None:
            # One connect at a time: concurrent requests wait for the same one.
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._timeout_s):
            _, conn = await loop.create_connection(
                partial(_Protocol, self._timeout_s), self._host, self._port, ssl=self._ssl
            )
            for hello in self._hello:
                await conn.send(hello)
            await asyncio.gather(
                *(conn.send(encode([b"SCRIPT", b"LOAD", s.source])) for s in self._scripts)
            )
        self._conn = conn
        return conn

    async def call(self, args: Sequence[Arg]) -> object:
        return await self.send(encode(args))

    async def send(self, payload: bytes) -> object:
        """One encoded command's reply."""
        # `_connection` checks this too; a connected call skips creating its coroutine.
        conn = self._conn
        if conn is None or conn.closed:
            conn = await self._connection()
        return await conn.send(payload)

    def evalsha_nowait(self, script: Script, payload: bytes) -> asyncio.Future[object] | None:
        """Writes `payload` (an EVALSHA of `script`) now when connected (None otherwise); the
        future gets the reply."""
        conn = self._conn
        if conn is None or conn.closed:
            return None
        return conn.send(payload)

    async def evalsha(self, script: Script, payload: bytes) -> object:
        """The reply to `payload`, an EVALSHA of `script` (`Script.command`, `Command`)."""
        try:
            return await self.send(payload)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        # Loaded once per Redis server (again after a restart), then EVALSHA only.
        await self.call([b"SCRIPT", b"LOAD", script.source])
        return await self.send(payload)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.abort()
            self._conn = None
