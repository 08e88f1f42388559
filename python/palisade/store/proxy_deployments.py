"""Where each LLM proxy is deployed: an append-only record per deploy, stop and rollback of a
proxy on a named gateway, and the replicas that reported which gateway they belong to.

A deployment pins a proxy version (the proxy's `version`: the version of the proxy set in which
it last changed, store/proxies.py), so editing a proxy changes nothing that runs until it is
deployed again. What runs on a gateway is, per proxy, its newest record there when that record
is not a stop. A proxy with no record at all is not managed by deployments and runs its newest
version everywhere (every proxy of the files and stores made before this existed). Every
change bumps the `proxy_deployments` counter, which the workers poll with the others.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from palisade.config.server import GATEWAY_NAME, GATEWAY_NAME_RULE
from palisade.store import proxies
from palisade.store.proxies import ProxyDict
from palisade.store.sqlite import bump, transaction

TOPIC = "proxy_deployments"

SCHEMA = """
CREATE TABLE IF NOT EXISTS proxy_deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    who TEXT NOT NULL,
    proxy_id TEXT NOT NULL,
    gateway TEXT NOT NULL,
    action TEXT NOT NULL,
    version INTEGER,
    rollback_of INTEGER
);
CREATE INDEX IF NOT EXISTS proxy_deployments_by_proxy
    ON proxy_deployments (proxy_id, gateway, id);
CREATE TABLE IF NOT EXISTS gateway_replicas (
    replica TEXT PRIMARY KEY,
    gateway TEXT NOT NULL,
    started_at REAL NOT NULL,
    seen_at REAL NOT NULL
);
"""

Action = Literal["deploy", "stop", "rollback"]

# A replica that has not reported for this long is gone (it reports every REPORT_EVERY_S).
REPORT_EVERY_S = 15.0
LIVE_S = 60.0
# Replicas get a new id per start; the rows of those gone for a week are dropped.
_FORGET_S = 7 * 86400.0


class DeploymentError(Exception):
    """The change cannot be made; `code` says why (the admin API's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Deployment:
    id: int
    at: float
    who: str
    proxy_id: str
    gateway: str
    action: Action
    version: int | None  # None for a stop
    rollback_of: int | None

    @property
    def runs(self) -> bool:
        return self.action != "stop"


_SELECT = (
    "SELECT id, at, who, proxy_id, gateway, action, version, rollback_of FROM proxy_deployments"
)


_NEWEST_IDS = "SELECT MAX(id) FROM proxy_deployments GROUP BY proxy_id, gateway"


def _deployment(row: tuple[Any, ...]) -> Deployment:
    return Deployment(*row)


def valid_gateway(name: object) -> str:
    if not isinstance(name, str) or not GATEWAY_NAME.match(name):
        raise DeploymentError("invalid_gateway", f"a gateway name is {GATEWAY_NAME_RULE}")
    return name


# -- reads ---------------------------------------------------------------------------------


def get(conn: sqlite3.Connection, deployment_id: int) -> Deployment | None:
    row = conn.execute(f"{_SELECT} WHERE id = ?", (deployment_id,)).fetchone()
    return None if row is None else _deployment(row)


def history(
    conn: sqlite3.Connection, proxy_id: str, limit: int = 100, before: int | None = None
) -> list[Deployment]:
    """A proxy's records on every gateway, newest first."""
    rows = conn.execute(
        f"{_SELECT} WHERE proxy_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        (proxy_id, before if before is not None else 2**62, limit),
    )
    return [_deployment(r) for r in rows]


def newest(conn: sqlite3.Connection) -> dict[tuple[str, str], Deployment]:
    """The newest record of each (proxy, gateway): what holds there now."""
    rows = conn.execute(f"{_SELECT} WHERE id IN ({_NEWEST_IDS})")
    return {(d.proxy_id, d.gateway): d for d in map(_deployment, rows)}


def definition(conn: sqlite3.Connection, proxy_id: str, version: int) -> ProxyDict | None:
    """The proxy as it was in `version` of the set, with its own `version` (the version in
    which that definition was written, which may be older)."""
    found = proxies.get_version(conn, version)
    if found is None:
        return None
    return next((p for p in found.proxies if p["id"] == proxy_id), None)


def proxy_versions(conn: sqlite3.Connection, proxy_id: str) -> list[dict[str, Any]]:
    """The versions of one proxy (each time its definition changed), newest first."""
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        page = proxies.versions(conn, 500, before)
        if not page:
            return out
        by_number = {v.version: v for v in page}
        for v in page:
            p = next((p for p in v.proxies if p["id"] == proxy_id), None)
            if p is None or p["version"] in seen:
                continue
            seen.add(p["version"])
            origin = by_number.get(p["version"]) or proxies.get_version(conn, p["version"])
            if origin is not None:
                out.append(origin.summary() | {"proxy": proxy_id})
        before = page[-1].version


def serving(
    conn: sqlite3.Connection, gateway: str, current: list[ProxyDict]
) -> tuple[list[ProxyDict], frozenset[str]]:
    """What `gateway` serves of the `current` set (each at its deployed version) and the ids
    of the current proxies it does not serve (they are deployed elsewhere or stopped)."""
    holding = newest(conn)
    managed = {pid for pid, _ in holding}
    out: list[ProxyDict] = []
    absent: set[str] = set()
    # Pinned proxies often share a version: each stored set is read and parsed once.
    sets: dict[int, list[ProxyDict]] = {}
    for p in current:
        pid = p["id"]
        if pid not in managed:
            out.append(p)
            continue
        record = holding.get((pid, gateway))
        if record is None or not record.runs:
            absent.add(pid)
            continue
        assert record.version is not None
        pinned: ProxyDict | None = p
        if p["version"] != record.version:
            if record.version not in sets:
                found = proxies.get_version(conn, record.version)
                sets[record.version] = [] if found is None else found.proxies
            pinned = next((q for q in sets[record.version] if q["id"] == pid), None)
        if pinned is None:  # history pruned by hand; the current definition beats nothing
            pinned = p
        out.append(pinned)
    return out, frozenset(absent)


# -- writes --------------------------------------------------------------------------------


def _insert(
    conn: sqlite3.Connection,
    who: str,
    proxy_id: str,
    gateway: str,
    action: Action,
    version: int | None,
    rollback_of: int | None = None,
) -> Deployment:
    at = time.time()
    row = conn.execute(
        "INSERT INTO proxy_deployments (at, who, proxy_id, gateway, action, version, "
        "rollback_of) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (at, who, proxy_id, gateway, action, version, rollback_of),
    ).fetchone()
    bump(conn, TOPIC)
    return Deployment(row[0], at, who, proxy_id, gateway, action, version, rollback_of)


def _current_proxy(conn: sqlite3.Connection, proxy_id: str) -> ProxyDict:
    latest = proxies.current(conn)
    found = next((p for p in latest.proxies if p["id"] == proxy_id), None) if latest else None
    if found is None:
        raise DeploymentError("proxy_not_found", f"no LLM proxy has the id `{proxy_id[:64]}`")
    return found


def _holding(conn: sqlite3.Connection, proxy_id: str, gateway: str) -> Deployment | None:
    row = conn.execute(
        f"{_SELECT} WHERE proxy_id = ? AND gateway = ? ORDER BY id DESC LIMIT 1",
        (proxy_id, gateway),
    ).fetchone()
    return None if row is None else _deployment(row)


def _managed(conn: sqlite3.Connection, proxy_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM proxy_deployments WHERE proxy_id = ? LIMIT 1", (proxy_id,)
    ).fetchone()
    return row is not None


# A problem that keeps a definition from running here (the config lacks a guardrail it names).
Check = Callable[[ProxyDict], str | None]


def _run(
    conn: sqlite3.Connection,
    who: str,
    proxy_id: str,
    gateway: str,
    version: int,
    check: Check | None,
    action: Action,
    rollback_of: int | None = None,
) -> Deployment:
    pinned = definition(conn, proxy_id, version)
    if pinned is None:
        raise DeploymentError(
            "unknown_version", f"the LLM proxy `{proxy_id}` has no version {version}"
        )
    problem = None if check is None else check(pinned)
    if problem is not None:
        raise DeploymentError(
            "invalid_proxy",
            f"version {pinned['version']} of `{proxy_id}` cannot run with this config: {problem}",
        )
    holding = _holding(conn, proxy_id, gateway)
    if holding is not None and holding.runs and holding.version == pinned["version"]:
        raise DeploymentError(
            "already_deployed",
            f"version {holding.version} of `{proxy_id}` is already deployed on the gateway "
            f"`{gateway}` (deployment {holding.id})",
        )
    return _insert(conn, who, proxy_id, gateway, action, pinned["version"], rollback_of)


def deploy(
    conn: sqlite3.Connection,
    who: str,
    proxy_id: str,
    gateway: str,
    version: int | None = None,
    *,
    check: Check | None = None,
) -> Deployment:
    """Runs `version` of the proxy (default: its newest) on `gateway`. The first record of a
    proxy makes it managed: from then on it runs only where it is deployed."""
    valid_gateway(gateway)
    with transaction(conn):
        current = _current_proxy(conn, proxy_id)
        number = current["version"] if version is None else version
        return _run(conn, who, proxy_id, gateway, number, check, "deploy")


def stop(conn: sqlite3.Connection, who: str, proxy_id: str, gateway: str) -> Deployment:
    """Stops the proxy on `gateway`; an unmanaged proxy (running everywhere) becomes managed,
    so it then runs nowhere until deployed."""
    valid_gateway(gateway)
    with transaction(conn):
        _current_proxy(conn, proxy_id)
        holding = _holding(conn, proxy_id, gateway)
        runs = holding.runs if holding is not None else not _managed(conn, proxy_id)
        if not runs:
            raise DeploymentError(
                "not_deployed", f"the LLM proxy `{proxy_id}` is not deployed on `{gateway}`"
            )
        return _insert(conn, who, proxy_id, gateway, "stop", None)


def rollback(
    conn: sqlite3.Connection, who: str, deployment_id: int, *, check: Check | None = None
) -> Deployment:
    """Runs again what deployment `deployment_id` ran, on its gateway, as a new record."""
    with transaction(conn):
        target = get(conn, deployment_id)
        if target is None:
            raise DeploymentError("deployment_not_found", f"there is no deployment {deployment_id}")
        if target.version is None:
            raise DeploymentError(
                "nothing_to_roll_back",
                f"deployment {deployment_id} stopped the proxy; roll back to one that deployed "
                "it, or stop the proxy",
            )
        _current_proxy(conn, target.proxy_id)
        return _run(
            conn,
            who,
            target.proxy_id,
            target.gateway,
            target.version,
            check,
            "rollback",
            rollback_of=target.id,
        )


# -- replicas --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Replica:
    id: str
    gateway: str
    started_at: float
    seen_at: float


def report(conn: sqlite3.Connection, replica: str, gateway: str, started_at: float) -> None:
    """The replica `replica` of `gateway` is alive (its workers call this every
    REPORT_EVERY_S). Not a change: no counter is bumped."""
    now = time.time()
    with transaction(conn):
        conn.execute(
            "INSERT INTO gateway_replicas (replica, gateway, started_at, seen_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (replica) DO UPDATE SET "
            "gateway = excluded.gateway, seen_at = excluded.seen_at",
            (replica, gateway, started_at, now),
        )
        conn.execute("DELETE FROM gateway_replicas WHERE seen_at < ?", (now - _FORGET_S,))


def replicas(conn: sqlite3.Connection) -> list[Replica]:
    rows = conn.execute(
        "SELECT replica, gateway, started_at, seen_at FROM gateway_replicas "
        "ORDER BY gateway, replica"
    )
    return [Replica(*r) for r in rows]
