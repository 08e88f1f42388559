"""Guardrail definitions in SQLite, as numbered versions of the whole set (as store/proxies.py
keeps the proxies, with the same seeding, history and rollback).

Each change (the file's seed, an admin create/update/delete, a rollback) writes one new
version: who made it, when, what, and the full set after it. The current set is the newest
version; a guardrail's own `version` is the version in which it last changed. Every change
bumps the `guardrails` counter, which the workers poll to rebuild the proxies that attach it.
Proxies name guardrails, so a change that would take away a guardrail a current proxy
attaches (or the version of it a gateway runs) is refused, naming the proxies.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from palisade.store import proxies, proxy_deployments
from palisade.store.sqlite import bump, transaction

TOPIC = "guardrails"
SEED_WHO = proxies.SEED_WHO

SCHEMA = """
CREATE TABLE IF NOT EXISTS guardrail_versions (
    version INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    name TEXT,
    guardrails TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS guardrail_seed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    digest TEXT NOT NULL,
    guardrails TEXT NOT NULL
);
"""

GuardrailDict = dict[str, Any]


class GuardrailConflict(Exception):
    """The change does not fit the current set; `code` says how (the admin API's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    at: float
    who: str
    action: str
    name: str | None
    guardrails: list[GuardrailDict]

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "at": datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds"),
            "who": self.who,
            "action": self.action,
            "guardrail": self.name,
        }


def _version(row: tuple[Any, ...]) -> Version:
    return Version(
        version=row[0],
        at=row[1],
        who=row[2],
        action=row[3],
        name=row[4],
        guardrails=orjson.loads(row[5]),
    )


_SELECT = "SELECT version, at, who, action, name, guardrails FROM guardrail_versions"


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


Change = Callable[[list[GuardrailDict], int], list[GuardrailDict]]


def _write(
    conn: sqlite3.Connection, who: str, action: str, name: str | None, change: Change
) -> Version:
    with transaction(conn):
        return _append(conn, who, action, name, change)


def _append(
    conn: sqlite3.Connection, who: str, action: str, name: str | None, change: Change
) -> Version:
    """Applies `change` (the current set, the new version number -> the new set) and records
    the result as the next version; the caller holds the write transaction."""
    latest = current(conn)
    number = 1 if latest is None else latest.version + 1
    guardrails = change([] if latest is None else latest.guardrails, number)
    at = time.time()
    conn.execute(
        "INSERT INTO guardrail_versions (version, at, who, action, name, guardrails) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (number, at, who, action, name, orjson.dumps(guardrails).decode()),
    )
    bump(conn, TOPIC)
    return Version(number, at, who, action, name, guardrails)


def _strip(guardrail: GuardrailDict) -> GuardrailDict:
    return {k: v for k, v in guardrail.items() if k != "version"}


def attached_by(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, list[str]]:
    """Guardrail name -> the ids of the current proxies that attach it (only names in use):
    in their current definition, or in the older version a gateway runs (a deployment)."""
    wanted = set(names)
    latest = proxies.current(conn)
    current = [] if latest is None else latest.proxies
    running = list(current)
    ids = {p["id"] for p in current}
    sets: dict[int, list[GuardrailDict]] = {}  # pinned proxies often share a version
    for (pid, _), record in proxy_deployments.newest(conn).items():
        if pid not in ids or not record.runs or record.version is None:
            continue
        if record.version not in sets:
            found = proxies.get_version(conn, record.version)
            sets[record.version] = [] if found is None else found.proxies
        running += [p for p in sets[record.version] if p["id"] == pid]
    out: dict[str, list[str]] = {}
    for p in running:
        for name in p.get("guardrails", []):
            if name in wanted and p["id"] not in out.get(name, []):
                out.setdefault(name, []).append(p["id"])
    return out


def _refuse_attached(conn: sqlite3.Connection, removed: Iterable[str], doing: str) -> None:
    used = attached_by(conn, removed)
    if used:
        what = "; ".join(
            f"`{name}` is attached by the proxies {', '.join(f'`{p}`' for p in ids)}"
            for name, ids in sorted(used.items())
        )
        raise GuardrailConflict("guardrail_in_use", f"cannot {doing}: {what}")


def seed(conn: sqlite3.Connection, guardrails: list[GuardrailDict]) -> Version | None:
    """Applies the file's guardrails when they differ from the last seed, as proxies.seed does:
    the ones it adds or changes are written, the ones it no longer lists (and nobody changed
    since) are removed; guardrails made or changed through the admin API stay. Every worker
    calls this on start; only the first writes. Returns the new version, or None."""
    digest = hashlib.sha256(orjson.dumps(guardrails, option=orjson.OPT_SORT_KEYS)).hexdigest()
    with transaction(conn):
        row = conn.execute("SELECT digest, guardrails FROM guardrail_seed WHERE id = 1").fetchone()
        if row is not None and row[0] == digest:
            return None
        before: dict[str, GuardrailDict] = (
            {} if row is None else {g["name"]: g for g in orjson.loads(row[1])}
        )
        conn.execute(
            "INSERT INTO guardrail_seed (id, digest, guardrails) VALUES (1, ?, ?) ON CONFLICT "
            "(id) DO UPDATE SET digest = excluded.digest, guardrails = excluded.guardrails",
            (digest, orjson.dumps(guardrails).decode()),
        )

        def change(old: list[GuardrailDict], number: int) -> list[GuardrailDict]:
            wanted = {g["name"]: g for g in guardrails}
            out = []
            for g in old:
                seeded = before.get(g["name"])
                untouched = seeded is not None and _strip(g) == seeded
                if g["name"] in wanted:
                    new = wanted.pop(g["name"])
                    out.append(g if _strip(g) == new else {**new, "version": number})
                elif not untouched:
                    out.append(g)  # made or changed by an admin: the file does not own it
            out += [{**g, "version": number} for g in wanted.values()]
            return out

        return _append(conn, SEED_WHO, "seed", None, change)


def put(conn: sqlite3.Connection, who: str, guardrail: GuardrailDict, *, create: bool) -> Version:
    """Creates (create=True, the name must be free) or replaces (it must exist) a guardrail."""
    name = guardrail["name"]

    def change(old: list[GuardrailDict], number: int) -> list[GuardrailDict]:
        exists = any(g["name"] == name for g in old)
        if create and exists:
            raise GuardrailConflict("guardrail_exists", f"a guardrail named `{name}` exists")
        if not create and not exists:
            raise GuardrailConflict("guardrail_not_found", f"no guardrail is named `{name}`")
        new = {**_strip(guardrail), "version": number}
        return [new if g["name"] == name else g for g in old] if exists else [*old, new]

    return _write(conn, who, "create" if create else "update", name, change)


def delete(conn: sqlite3.Connection, who: str, name: str) -> Version:
    def change(old: list[GuardrailDict], number: int) -> list[GuardrailDict]:
        if not any(g["name"] == name for g in old):
            raise GuardrailConflict("guardrail_not_found", f"no guardrail is named `{name}`")
        _refuse_attached(conn, [name], f"delete the guardrail `{name}`")
        return [g for g in old if g["name"] != name]

    return _write(conn, who, "delete", name, change)


def rollback(conn: sqlite3.Connection, who: str, version: int) -> Version:
    """A new version whose set is that of `version` (history is never rewritten)."""

    def change(old: list[GuardrailDict], number: int) -> list[GuardrailDict]:
        target = get_version(conn, version)
        if target is None:
            raise GuardrailConflict("version_not_found", f"there is no version {version}")
        now = {g["name"]: g for g in old}
        kept = {g["name"] for g in target.guardrails}
        _refuse_attached(conn, set(now) - kept, f"roll back to version {version}")
        # A guardrail that is already as it was keeps its version; the others get this one.
        return [
            now[g["name"]]
            if g["name"] in now and _strip(now[g["name"]]) == _strip(g)
            else {**_strip(g), "version": number}
            for g in target.guardrails
        ]

    return _write(conn, who, f"rollback to {version}", None, change)
