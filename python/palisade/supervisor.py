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

import logging
import math
from typing import Any

from granian.constants import Interfaces, Loops
from granian.server.mp import MPServer
from prometheus_client import Counter
from prometheus_client.multiprocess import mark_process_dead

from palisade.config import ServerConfig

log = logging.getLogger("palisade")

WORKER_RESTARTS = Counter(
    "palisade_worker_restarts",
    "Workers that died unexpectedly and were replaced, by how they ended.",
    ["reason"],
)
# After the grace, a worker still needs to close its connections and write its queued records.
_KILL_MARGIN_S = 15


class _Supervisor(MPServer):
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


def serve(server: ServerConfig, host: str, port: int, workers: int) -> None:
    _Supervisor(
        target="palisade.app:app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address=host,
        port=port,
        workers=workers,
        loop=Loops.uvloop,
        log_access=False,
        # No route speaks WebSocket: an upgrade reaches the app as plain HTTP and gets a JSON
        # answer, not Granian's bare 403.
        websockets=False,
        backpressure=server.max_connections,
        respawn_failed_workers=True,
        workers_kill_timeout=math.ceil(server.shutdown_grace_s) + _KILL_MARGIN_S,
    ).serve()
