"""The Granian server that runs the workers, and replaces a worker that dies.

Granian alone shuts the whole gateway down when one worker exits unexpectedly (an OOM kill, a
segfault in a native library); with `respawn_failed_workers` it starts a new one in its place
and the others keep serving. It stops respawning (and exits) when the same worker dies again
within seconds of its replacement, so a crash loop still ends the process for its supervisor.
The subclass only adds our log line and the `palisade_worker_restarts_total` counter, from the
main process (its values file sits with the workers' in the multiprocess directory, so
`/metrics` on any worker shows it). `_respawn_workers` is Granian's own hook, pinned with its
version in pyproject.toml.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
from typing import Any

from granian.constants import Interfaces, Loops
from granian.log import LogLevels
from granian.server.mp import MPServer
from prometheus_client import Counter
from prometheus_client.multiprocess import mark_process_dead

from palisade.config import LoggingConfig, MetricsConfig, ServerConfig
from palisade.shutdown import DRAIN_SIGNAL
from palisade.telemetry import logs, metrics_port

log = logging.getLogger("palisade")

WORKER_RESTARTS = Counter(
    "palisade_worker_restarts",
    "Workers that died unexpectedly and were replaced, by how they ended.",
    ["reason"],
)
# After the grace, a worker still needs to close its connections and write its queued records.
_KILL_MARGIN_S = 15


class _Supervisor(MPServer):
    drain_delay_s = 0.0
    _draining = False

    def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
        """With `server.drain_delay_s`: the workers learn of the stop (and `/ready` turns 503)
        but serve on for the delay; then Granian's own stop. A second signal stops at once, and
        so does SIGINT (Ctrl-C in a terminal reaches the workers too, which stop at once)."""
        interrupted = bool(args) and args[0] == signal.SIGINT
        if self.drain_delay_s <= 0 or self._draining or interrupted:
            super().signal_handler_interrupt(*args, **kwargs)  # type: ignore[no-untyped-call]
            return
        self._draining = True
        log.info(
            "draining: /ready answers 503 for %.3g s, then the workers stop", self.drain_delay_s
        )
        for worker in self.wrks:
            if worker.inner.pid is not None:
                with contextlib.suppress(ProcessLookupError):  # died meanwhile
                    os.kill(worker.inner.pid, DRAIN_SIGNAL)
        stop = threading.Timer(self.drain_delay_s, super().signal_handler_interrupt)
        stop.daemon = True
        stop.start()

    def _respawn_workers(self, workers: list[int], *args: Any, **kwargs: Any) -> Any:
        for idx in workers:
            process = self.wrks[idx].inner
            code = process.exitcode
            if code is None:  # alive: a reload or lifetime respawn, not a failure
                continue
            reason = f"signal_{-code}" if code < 0 else f"exit_{code}"
            log.error(
                "worker-%d (pid %s) died (%s); starting a new one in its place",
                idx + 1,
                process.pid,
                reason,
            )
            WORKER_RESTARTS.labels(reason).inc()
            mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
        return super()._respawn_workers(workers, *args, **kwargs)


def serve(
    server: ServerConfig,
    host: str,
    port: int,
    workers: int,
    *,
    logging: LoggingConfig | None = None,
    metrics: MetricsConfig | None = None,
) -> None:
    logging = logging or LoggingConfig()
    metrics = metrics or MetricsConfig()
    # Inherited by the workers: the drain signal's default action would end a worker that is
    # still starting (its handler is installed by the app's lifespan).
    signal.signal(DRAIN_SIGNAL, signal.SIG_IGN)
    stop_metrics = None
    if metrics.enabled and metrics.port is not None:
        try:
            stop_metrics = metrics_port.start(host, metrics.port, metrics.token)
        except OSError as exc:
            raise SystemExit(
                f"palisade: metrics.port: cannot listen on {host}:{metrics.port}: {exc}"
            ) from None
    supervisor = _Supervisor(
        target="palisade.app:app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address=host,
        port=port,
        workers=workers,
        loop=Loops.uvloop,
        log_level=LogLevels(logging.level),
        log_dictconfig=logs.dict_config(logging.level, logging.format),
        log_access=logging.access,
        log_access_format=logs.ACCESS_FORMAT,
        # No route speaks WebSocket: an upgrade reaches the app as plain HTTP and gets a JSON
        # answer, not Granian's bare 403.
        websockets=False,
        backpressure=server.max_connections,
        respawn_failed_workers=True,
        workers_kill_timeout=math.ceil(server.shutdown_grace_s) + _KILL_MARGIN_S,
    )
    supervisor.drain_delay_s = server.drain_delay_s
    try:
        supervisor.serve()
    finally:
        if stop_metrics is not None:
            stop_metrics()
