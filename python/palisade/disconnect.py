"""Stop upstream work when the client goes away.

Once the request body has been read, the next ASGI `receive()` only returns when the client
disconnects. A watcher task waits on it and cancels the handler, so an abandoned request does not
keep a provider generating (and billing) for nobody. The watcher starts only after `grace_s`:
most calls finish sooner, and a timer handle costs far less than a task on every request. A
client that leaves within the grace period is noticed when it ends.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from starlette.types import Receive

DEFAULT_GRACE_S = 0.05


class ClientDisconnected(Exception):
    pass


class DisconnectWatch:
    """`async with DisconnectWatch(receive):` cancels the enclosed work when the client leaves
    and turns that cancellation into `ClientDisconnected`."""

    __slots__ = ("_grace_s", "_handle", "_receive", "_task", "_watcher", "gone")

    def __init__(self, receive: Receive, grace_s: float = DEFAULT_GRACE_S) -> None:
        self._receive = receive
        self._grace_s = grace_s
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.gone = False

    async def __aenter__(self) -> DisconnectWatch:
        self._task = asyncio.current_task()
        self._handle = asyncio.get_running_loop().call_later(self._grace_s, self._start)
        return self

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
        if not self.gone:
            return
        if exc_type is None and self._task is not None:
            # The client left just as the work finished: take back the pending cancel.
            self._task.uncancel()
        if exc_type is None or issubclass(exc_type, asyncio.CancelledError):
            raise ClientDisconnected
