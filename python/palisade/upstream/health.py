"""What this worker knows of its configured deployments, as JSON: the admin API's full view
(`GET /admin/v1/deployments`) and the summary `/ready` reports.

The figures are the answering worker's: each worker keeps its own EMAs, capacity counts and
breakers (breakers are shared between workers and replicas only through Redis).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from palisade.upstream.breaker import STATE_NAMES
from palisade.upstream.deployment import Deployment
from palisade.upstream.groups import Routing
from palisade.upstream.probes import Probes

PER_WORKER = (
    "the state of the worker that answered (pid `worker_pid`): each worker keeps its own "
    "figures and breakers; breakers are shared only through Redis"
)


def deployments(routing: Routing, probes: Probes | None) -> dict[str, Any]:
    """`GET /admin/v1/deployments`: every configured deployment, in the config's order."""
    now = time.time()
    served = _groups(routing)
    return {
        "object": "list",
        "worker_pid": os.getpid(),
        "note": PER_WORKER,
        "data": [_full(d, served.get(d.id, []), probes, now) for d in routing.deployments.values()],
    }


def readiness(routing: Routing, probes: Probes | None) -> tuple[dict[str, Any], bool]:
    """Each configured deployment's breaker and last probe, and whether every configured model
    has a deployment whose breaker lets calls through (an open breaker past its cooldown does:
    its next call is the trial)."""
    now = time.time()
    report = {
        d.id: {"breaker": _state(d), "last_probe": _last_probe(d, probes)}
        for d in routing.deployments.values()
    }
    ok = all(
        any(d.breaker is None or d.breaker.usable(now) for d in group.deployments)
        for group in routing.groups.values()
    )
    return report, ok


def _groups(routing: Routing) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for group in routing.groups.values():
        for d in group.deployments:
            out.setdefault(d.id, []).append(group.name)
    return out


def _full(d: Deployment, groups: list[str], probes: Probes | None, now: float) -> dict[str, Any]:
    config = d.config
    counted = config.rpm is not None or config.tpm is not None
    this_minute = counted and d.minute == int(now // 60)
    breaker = d.breaker
    open_until = breaker.open_until if breaker is not None and breaker.open_until else None
    return {
        "id": d.id,
        "provider": d.name,
        "model": d.target.model,
        "groups": groups,
        "weight": config.weight,
        "priority": config.priority,
        "rpm": config.rpm,
        "tpm": config.tpm,
        # Counted only against a capacity (none: not counted).
        "minute_calls": (d.minute_calls if this_minute else 0) if counted else None,
        "minute_tokens": (d.minute_tokens if this_minute else 0) if counted else None,
        "inflight": d.inflight,
        "latency_ms": _ms(d.latency_ema),
        "ttft_ms": _ms(d.ttft_ema),
        "success_ema": round(d.success_ema, 4),
        "breaker": _state(d),
        "open_until": _time(open_until),
        "blocked_until": _time(d.blocked_until if d.blocked_until > now else None),
        "usable": d.usable(now),
        "probe": d.probe,
        "last_probe": _last_probe(d, probes),
        "worker_pid": os.getpid(),
    }


def _state(d: Deployment) -> str:
    return "closed" if d.breaker is None else STATE_NAMES[d.breaker.state]


def _last_probe(d: Deployment, probes: Probes | None) -> dict[str, Any] | None:
    result = probes.results.get(d.id) if probes is not None else None
    if result is None:
        return None
    return {"at": _time(result.at), "outcome": result.outcome, "latency_ms": _ms(result.latency)}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1e3, 1)


def _time(unix: float | None) -> str | None:
    if unix is None:
        return None
    return (
        datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
