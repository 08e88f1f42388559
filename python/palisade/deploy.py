"""Deploy to gateway: what the admin API (routes/gateways.py) and the CLI (deploy_cli.py) show
of proxy deployments, and the check that a proxy version can run with this config. Both call
these with an open store connection, so they show the same thing."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from palisade.config import Config, ConfigError, Guardrail, parse_proxy
from palisade.store import proxies
from palisade.store import proxy_deployments as store
from palisade.store.proxy_deployments import Check, Deployment
from palisade.store.sqlite import iso


def replica_id() -> str:
    """This replica: the host and the `palisade serve` process whose children (Granian's
    workers) share it."""
    return f"{socket.gethostname()}:{os.getppid()}"


def checker(config: Config, guardrails: Mapping[str, Guardrail]) -> Check:
    """Whether a stored definition can run here: it may name a guardrail the store no longer
    has (`guardrails`: the current set) or a provider the config no longer has, and such a
    proxy is never served (identity/runtime.py)."""
    known = {p.name for p in config.providers}

    def check(raw: proxies.ProxyDict) -> str | None:
        definition = {k: v for k, v in raw.items() if k != "version"}
        try:
            proxy = parse_proxy(definition, guardrails, source="proxy")
        except ConfigError as exc:
            return str(exc)
        missing = [name for name in proxy.providers if name not in known]
        return f"providers: no provider is named {missing[0]!r}" if missing else None

    return check


def _latest_version(conn: sqlite3.Connection, proxy_id: str) -> int | None:
    latest = proxies.current(conn)
    found = next((p for p in latest.proxies if p["id"] == proxy_id), None) if latest else None
    return None if found is None else int(found["version"])


def record(
    d: Deployment, holding: dict[tuple[str, str], Deployment], latest_version: int | None
) -> dict[str, Any]:
    """One record with its tags: `deployed` (what runs on its gateway now) and `latest` (it
    ran the proxy's newest version)."""
    now = holding.get((d.proxy_id, d.gateway))
    current = now is not None and now.id == d.id
    return {
        "object": "proxy.deployment",
        "id": d.id,
        "at": iso(d.at),
        "who": d.who,
        "proxy": d.proxy_id,
        "gateway": d.gateway,
        "action": d.action,
        "version": d.version,
        "rollback_of": d.rollback_of,
        "status": ("deployed" if d.runs else "stopped") if current else "superseded",
        "deployed": current and d.runs,
        "latest": d.runs and d.version is not None and d.version == latest_version,
    }


def written(conn: sqlite3.Connection, d: Deployment) -> dict[str, Any]:
    return record(d, store.newest(conn), _latest_version(conn, d.proxy_id))


def history(
    conn: sqlite3.Connection, proxy_id: str, limit: int = 100, before: int | None = None
) -> dict[str, Any] | None:
    """A proxy's deployment history, newest first, with where it runs now; None when there is
    no such proxy and never was a deployment of it."""
    latest_version = _latest_version(conn, proxy_id)
    found = store.history(conn, proxy_id, limit + 1, before)
    holding = store.newest(conn)
    mine = {g: d for (pid, g), d in holding.items() if pid == proxy_id}
    if latest_version is None and not mine:
        return None
    return {
        "object": "list",
        "proxy": proxy_id,
        "latest_version": latest_version,
        # Not managed: no record yet, so it runs its newest version on every gateway.
        "everywhere": latest_version is not None and not mine,
        "gateways": [
            {"gateway": g, "version": d.version, "deployment": d.id}
            for g, d in sorted(mine.items())
            if d.runs and latest_version is not None
        ],
        "data": [record(d, holding, latest_version) for d in found[:limit]],
        "has_more": len(found) > limit,
    }


def gateways(conn: sqlite3.Connection, this_gateway: str) -> dict[str, Any]:
    """Every gateway known (this replica's, those replicas reported, those deployed to), its
    replicas and what it runs."""
    now = time.time()
    latest = proxies.current(conn)
    current = {p["id"]: int(p["version"]) for p in (latest.proxies if latest else [])}
    holding = store.newest(conn)
    managed = {pid for pid, _ in holding}
    seen = store.replicas(conn)
    names = {this_gateway, *(r.gateway for r in seen), *(g for _, g in holding)}
    data = []
    for name in sorted(names):
        runs: list[dict[str, Any]] = []
        for pid, version in current.items():
            d = holding.get((pid, name))
            if pid not in managed:
                runs.append(
                    {"proxy": pid, "version": version, "deployment": None, "everywhere": True}
                )
            elif d is not None and d.runs:
                runs.append(
                    {"proxy": pid, "version": d.version, "deployment": d.id, "everywhere": False}
                )
        for item in runs:
            item["latest"] = item["version"] == current[item["proxy"]]
        replicas = [
            {
                "id": r.id,
                "started_at": iso(r.started_at),
                "seen_at": iso(r.seen_at),
                "live": now - r.seen_at <= store.LIVE_S,
            }
            for r in seen
            if r.gateway == name
        ]
        data.append(
            {
                "object": "gateway",
                "name": name,
                "live_replicas": sum(1 for r in replicas if r["live"]),
                "replicas": replicas,
                "proxies": runs,
            }
        )
    return {"object": "list", "gateway": this_gateway, "data": data}
