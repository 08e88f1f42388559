"""LLM proxies in SQLite, as numbered versions of the whole proxy set.

Each change (the file's seed, an admin create/update/delete, a rollback) writes one new
version: who made it, when, what, and the full set after it, so any version can be shown and
restored. The current set is the newest version. A proxy's own `version` is the version in
which it last changed. Every change bumps the `proxies` counter, which the workers poll.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from palisade.store.sqlite import bump, transaction

TOPIC = "proxies"
SEED_WHO = "palisade.yaml"

SCHEMA = """
CREATE TABLE IF NOT EXISTS proxy_versions (
    version INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    proxy_id TEXT,
    proxies TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS proxy_seed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    digest TEXT NOT NULL,
    proxies TEXT NOT NULL
);
"""

ProxyDict = dict[str, Any]


class ProxyConflict(Exception):
    """The change does not fit the current set (no such proxy, id taken, unknown version)."""


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    at: float
    who: str
    action: str
    proxy_id: str | None
    proxies: list[ProxyDict]

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "at": datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds"),
            "who": self.who,
            "action": self.action,
            "proxy": self.proxy_id,
        }


def _version(row: tuple[Any, ...]) -> Version:
    return Version(
        version=row[0],
        at=row[1],
        who=row[2],
        action=row[3],
        proxy_id=row[4],
        proxies=orjson.loads(row[5]),
    )


_SELECT = "SELECT version, at, who, action, proxy_id, proxies FROM proxy_versions"


def current(conn: sqlite3.Connection) -> Version | None:
    row = conn.execute(f"{_SELECT} ORDER BY version DESC LIMIT 1").fetchone()
    return None if row is None else _version(row)


def get_version(conn: sqlite3.Connection, version: int) -> Version | None:
    row = conn.execute(f"{_SELECT} WHERE version = ?", (version,)).fetchone()
    return None if row is None else _version(row)


def versions(
    conn: sqlite3.Connection, limit: int = 100, before: int | None = None
) -> list[Version]:
    """Newest first."""
    rows = conn.execute(
        f"{_SELECT} WHERE version < ? ORDER BY version DESC LIMIT ?",
        (before if before is not None else 2**62, limit),
    )
    return [_version(r) for r in rows]


def _write(
    conn: sqlite3.Connection,
    who: str,
    action: str,
    proxy_id: str | None,
    change: Callable[[list[ProxyDict], int], list[ProxyDict]],
) -> Version:
    """Applies `change` (the current set, the new version number -> the new set) inside one
    write transaction and records the result as the next version."""
    with transaction(conn):
        return _append(conn, who, action, proxy_id, change)


def _append(
    conn: sqlite3.Connection,
    who: str,
    action: str,
    proxy_id: str | None,
    change: Callable[[list[ProxyDict], int], list[ProxyDict]],
) -> Version:
    latest = current(conn)
    number = 1 if latest is None else latest.version + 1
    proxies = change([] if latest is None else latest.proxies, number)
    at = time.time()
    conn.execute(
        "INSERT INTO proxy_versions (version, at, who, action, proxy_id, proxies) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (number, at, who, action, proxy_id, orjson.dumps(proxies).decode()),
    )
    bump(conn, TOPIC)
    return Version(number, at, who, action, proxy_id, proxies)


def _strip(proxy: ProxyDict) -> ProxyDict:
    return {k: v for k, v in proxy.items() if k != "version"}


def seed(conn: sqlite3.Connection, proxies: list[ProxyDict]) -> Version | None:
    """Applies the file's proxies when they differ from the last seed: the ones it adds or
    changes are written, the ones it no longer lists (and nobody changed since) are removed;
    proxies made through the admin API stay. Every worker calls this on start; only the first
    writes. Returns the new version, or None when nothing changed."""
    digest = hashlib.sha256(orjson.dumps(proxies, option=orjson.OPT_SORT_KEYS)).hexdigest()
    with transaction(conn):
        row = conn.execute("SELECT digest, proxies FROM proxy_seed WHERE id = 1").fetchone()
        if row is not None and row[0] == digest:
            return None
        before: dict[str, ProxyDict] = (
            {} if row is None else {p["id"]: p for p in orjson.loads(row[1])}
        )
        conn.execute(
            "INSERT INTO proxy_seed (id, digest, proxies) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, proxies = excluded.proxies",
            (digest, orjson.dumps(proxies).decode()),
        )

        def change(old: list[ProxyDict], number: int) -> list[ProxyDict]:
            wanted = {p["id"]: p for p in proxies}
            out = []
            for p in old:
                seeded = before.get(p["id"])
                untouched = seeded is not None and _strip(p) == seeded
                if p["id"] in wanted:
                    new = wanted.pop(p["id"])
                    out.append(p if _strip(p) == new else {**new, "version": number})
                elif not untouched:
                    out.append(p)  # made or changed by an admin: the file does not own it
            out += [{**p, "version": number} for p in wanted.values()]
            return out

        return _append(conn, SEED_WHO, "seed", None, change)


def put(conn: sqlite3.Connection, who: str, proxy: ProxyDict, *, create: bool) -> Version:
    """Creates (create=True, the id must be free) or replaces (the id must exist) a proxy."""
    pid = proxy["id"]

    def change(old: list[ProxyDict], number: int) -> list[ProxyDict]:
        exists = any(p["id"] == pid for p in old)
        if create and exists:
            raise ProxyConflict(f"a proxy with the id `{pid}` exists")
        if not create and not exists:
            raise ProxyConflict(f"no proxy has the id `{pid}`")
        new = {**_strip(proxy), "version": number}
        return [new if p["id"] == pid else p for p in old] if exists else [*old, new]

    return _write(conn, who, "create" if create else "update", pid, change)


def delete(conn: sqlite3.Connection, who: str, proxy_id: str) -> Version:
    def change(old: list[ProxyDict], number: int) -> list[ProxyDict]:
        if not any(p["id"] == proxy_id for p in old):
            raise ProxyConflict(f"no proxy has the id `{proxy_id}`")
        return [p for p in old if p["id"] != proxy_id]

    return _write(conn, who, "delete", proxy_id, change)


def rollback(conn: sqlite3.Connection, who: str, version: int) -> Version:
    """A new version whose set is that of `version` (history is never rewritten)."""

    def change(old: list[ProxyDict], number: int) -> list[ProxyDict]:
        target = get_version(conn, version)
        if target is None:
            raise ProxyConflict(f"there is no version {version}")
        now = {p["id"]: p for p in old}
        # A proxy that is already as it was keeps its version; the others get this one.
        return [
            now[p["id"]]
            if p["id"] in now and _strip(now[p["id"]]) == _strip(p)
            else {**_strip(p), "version": number}
            for p in target.proxies
        ]

    return _write(conn, who, f"rollback to {version}", None, change)
