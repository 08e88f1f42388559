"""A bounded drain at SIGTERM: requests in flight get `shutdown_grace_s` to finish, then whatever
still waits on a provider is ended (`disconnect.end_all`: a 503, or an error event in a stream).

Granian stops accepting at the signal and waits for open connections before it runs the
lifespan's shutdown, without a bound of its own (measured: a 25 s stream held shutdown for
25.8 s). A supervisor's SIGKILL after its own grace would then cut streams with no error event
and lose the records still queued. Our handler is chained in front of Granian's (which stays in
place), and it only schedules the deadline: the records are written by the lifespan's shutdown,
which runs once the last connection has closed.

Granian closes its listening socket and idle connections at the signal, so `/ready` cannot be
asked anything after it. With `server.drain_delay_s` the main process (`supervisor`) passes the
signal on only after that delay and meanwhile sends each worker `DRAIN_SIGNAL`: the workers keep
serving while `/ready` answers 503, the time a load balancer needs to take the replica out.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from palisade import disconnect

log = logging.getLogger("palisade")

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# From the main process: a SIGTERM came and the workers stop after `drain_delay_s`.
DRAIN_SIGNAL = signal.SIGUSR1
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Shutdown:
    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.begun = False
        self._drain_announced = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, _Handler] = {}

    def install(self) -> None:
        """From the worker's event loop, in the main thread (signals are delivered there)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        self._previous[DRAIN_SIGNAL] = signal.signal(DRAIN_SIGNAL, self._on_drain_signal)

    @property
    def draining(self) -> bool:
        """Whether `/ready` should turn this worker away: its stop was announced or began."""
        return self.begun or self._drain_announced

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # A signal handler may interrupt the loop anywhere: it only hands over to the loop.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.begin)
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)

    def _on_drain_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.announce)

    def announce(self) -> None:
        if not self._drain_announced:
            self._drain_announced = True
            log.info("draining: /ready answers 503; requests are still served until the stop")

    def begin(self) -> None:
        if self.begun:
            return
        self.begun = True
        log.info(
            "shutting down: %d upstream call(s) in flight get %.3g s to finish",
            disconnect.in_flight(),
            self.grace_s,
        )
        asyncio.get_running_loop().call_later(self.grace_s, self._expire)

    def _expire(self) -> None:
        ended = disconnect.end_all()
        if ended:
            log.warning(
                "shutdown grace of %.3g s over: ended %d upstream call(s) still in flight",
                self.grace_s,
                ended,
            )
