"""Stop upstream work when the client goes away, or when the gateway's shutdown grace ends.

Once the request body has been read, the next ASGI `receive()` only returns when the client
disconnects. A watcher task waits on it and cancels the handler, so an abandoned request does not
keep a provider generating (and billing) for nobody. The watcher starts only after `grace_s`:
most calls finish sooner, and a timer handle costs far less than a task on every request. A
client that leaves within the grace period is noticed when it ends.

Every watch open in this worker is in `_open`, so that `end_all` (the shutdown, once its grace
is over) can end the upstream work still running: it becomes `ShuttingDown`, a 503 for an answer
not yet started and an error event for a stream.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from starlette.types import Receive

from palisade.errors import GatewayError

DEFAULT_GRACE_S = 0.05


class ClientDisconnected(Exception):
    pass


class ShuttingDown(GatewayError):
    status = 503
    type = "server_error"
    code = "gateway_shutting_down"

    def __init__(self) -> None:
        super().__init__(
            "Palisade: the gateway is shutting down and its grace period for requests in "
            "flight is over; retry the request.",
            headers={"retry-after": "1"},
        )


_open: set[DisconnectWatch] = set()


def end_all() -> int:
    """Ends every upstream call in flight in this worker; returns how many."""
    watches = list(_open)
    for watch in watches:
        watch.end()
    return len(watches)


def in_flight() -> int:
    return len(_open)


class DisconnectWatch:
    """`async with DisconnectWatch(receive):` cancels the enclosed work when the client leaves
    and turns that cancellation into `ClientDisconnected`."""

    __slots__ = ("_grace_s", "_handle", "_receive", "_task", "_watcher", "ended", "gone")

    def __init__(self, receive: Receive, grace_s: float = DEFAULT_GRACE_S) -> None:
        self._receive = receive
        self._grace_s = grace_s
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.gone = False
        self.ended = False

    async def __aenter__(self) -> DisconnectWatch:
        self._task = asyncio.current_task()
        self._handle = asyncio.get_running_loop().call_later(self._grace_s, self._start)
        _open.add(self)
        return self

    def end(self) -> None:
        if not (self.ended or self.gone) and self._task is not None:
            self.ended = True
            self._task.cancel()

    def _start(self) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                if self._task is not None:
                    self._task.cancel()
                return

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self._watcher is not None:
            self._watcher.cancel()
        _open.discard(self)
        if self.ended:
            if exc_type is None or issubclass(exc_type, asyncio.CancelledError):
                assert self._task is not None
                self._task.uncancel()
                if exc_type is not None:
                    raise ShuttingDown
            return
        if not self.gone:
            return
        if exc_type is None and self._task is not None:
            # The client left just as the work finished: take back the pending cancel.
            self._task.uncancel()
        if exc_type is None or issubclass(exc_type, asyncio.CancelledError):
            raise ClientDisconnected
