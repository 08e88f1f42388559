"""A set of named definitions in SQLite, kept as numbered versions of the whole set: the LLM
proxies (`store/proxies.py`) and the guardrails (`store/guardrails.py`).

Each change (the file's seed, an admin create/update/delete, a rollback) writes one new
version: who made it, when, what, and the full set after it, so any version can be shown and
restored. The current set is the newest version; an entry's own `version` is the version in
which it last changed. Every change bumps the set's counter, which the workers poll.

The config file seeds the set, and from then on the store owns it: a changed file writes only
what it changed since its last seed (an entry it adds or edits; one it drops, unless an admin
changed that entry since). An entry the file lists unchanged is left as the admin API made it,
edited or deleted.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson

from palisade.store.sqlite import bump, transaction

Entry = dict[str, Any]
Change = Callable[[list[Entry], int], list[Entry]]
SEED_WHO = "palisade.yaml"


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    at: float
    who: str
    action: str
    # The entry the change was about (none for a seed or a rollback).
    subject: str | None
    items: list[Entry]


V = TypeVar("V", bound=Version)


class Conflict(Exception):
    """The change does not fit the current set; `code` says how (the admin API's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def strip(entry: Entry) -> Entry:
    return {k: v for k, v in entry.items() if k != "version"}


class VersionedSet(Generic[V]):
    """One set: its tables (`{table}_versions`, `{table}_seed`) and their columns (`subject`:
    the entry a change was about, `items`: the whole set), the field that names an entry
    (`key`), the counter it bumps (`topic`) and the `Version` type it returns."""

    def __init__(
        self,
        table: str,
        *,
        subject: str,
        items: str,
        key: str,
        topic: str,
        version_type: type[V],
    ) -> None:
        self.key = key
        self.topic = topic
        self._type = version_type
        self._versions = f"{table}_versions"
        self._seed = f"{table}_seed"
        self._items = items
        self.schema = f"""
CREATE TABLE IF NOT EXISTS {self._versions} (
    version INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    {subject} TEXT,
    {self._items} TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {self._seed} (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    digest TEXT NOT NULL,
    {self._items} TEXT NOT NULL
);
"""
        # The statements, made once from names this module's callers fix (never a request's).
        items, versions, seed = self._items, self._versions, self._seed
        self._select = f"SELECT version, at, who, action, {subject}, {items} FROM {versions}"  # noqa: S608
        self._insert = (
            f"INSERT INTO {versions} (version, at, who, action, {subject}, {items}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._seed_select = f"SELECT digest, {items} FROM {seed} WHERE id = 1"  # noqa: S608
        self._seed_upsert = (
            f"INSERT INTO {seed} (id, digest, {items}) VALUES (1, ?, ?) ON CONFLICT (id) "  # noqa: S608
            f"DO UPDATE SET digest = excluded.digest, {items} = excluded.{items}"
        )

    def _version(self, row: tuple[Any, ...]) -> V:
        return self._type(row[0], row[1], row[2], row[3], row[4], orjson.loads(row[5]))

    def current(self, conn: sqlite3.Connection) -> V | None:
        row = conn.execute(f"{self._select} ORDER BY version DESC LIMIT 1").fetchone()
        return None if row is None else self._version(row)

    def get_version(self, conn: sqlite3.Connection, version: int) -> V | None:
        row = conn.execute(f"{self._select} WHERE version = ?", (version,)).fetchone()
        return None if row is None else self._version(row)

    def versions(
        self, conn: sqlite3.Connection, limit: int = 100, before: int | None = None
    ) -> list[V]:
        """Newest first."""
        rows = conn.execute(
            f"{self._select} WHERE version < ? ORDER BY version DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
        return [self._version(r) for r in rows]

    def write(
        self, conn: sqlite3.Connection, who: str, action: str, subject: str | None, change: Change
    ) -> V:
        """Applies `change` (the current set, the new version number -> the new set) inside one
        write transaction and records the result as the next version."""
        with transaction(conn):
            return self._append(conn, who, action, subject, change)

    def _append(
        self, conn: sqlite3.Connection, who: str, action: str, subject: str | None, change: Change
    ) -> V:
        latest = self.current(conn)
        number = 1 if latest is None else latest.version + 1
        items = change([] if latest is None else latest.items, number)
        at = time.time()
        conn.execute(
            self._insert,
            (number, at, who, action, subject, orjson.dumps(items).decode()),
        )
        bump(conn, self.topic)
        return self._type(number, at, who, action, subject, items)

    def seed(self, conn: sqlite3.Connection, entries: list[Entry]) -> V | None:
        """Applies what the file changed since its last seed (see the module's docstring). Every
        worker calls this on start; only the first writes. Returns the new version, or None
        when the file is as it was."""
        key = self.key
        digest = hashlib.sha256(orjson.dumps(entries, option=orjson.OPT_SORT_KEYS)).hexdigest()
        with transaction(conn):
            row = conn.execute(self._seed_select).fetchone()
            if row is not None and row[0] == digest:
                return None
            before: dict[str, Entry] = (
                {} if row is None else {e[key]: e for e in orjson.loads(row[1])}
            )
            conn.execute(
                self._seed_upsert,
                (digest, orjson.dumps(entries).decode()),
            )
            # What the file changed: the entries it adds or edits, and the names it drops.
            changed = {e[key]: e for e in entries if before.get(e[key]) != e}
            dropped = set(before) - {e[key] for e in entries}

            def change(old: list[Entry], number: int) -> list[Entry]:
                wanted = dict(changed)
                out = []
                for e in old:
                    name = e[key]
                    if name in wanted:
                        new = wanted.pop(name)
                        out.append(e if strip(e) == new else {**new, "version": number})
                    elif name not in dropped or strip(e) != before[name]:
                        out.append(e)  # unchanged by the file, or changed by an admin since
                out += [{**e, "version": number} for e in wanted.values()]
                return out

            return self._append(conn, SEED_WHO, "seed", None, change)

    def put(
        self,
        conn: sqlite3.Connection,
        who: str,
        entry: Entry,
        *,
        create: bool,
        exists: Conflict,
        missing: Conflict,
    ) -> V:
        """Creates (create=True: `exists` when the name is taken) or replaces (`missing` when
        there is none of that name) an entry."""
        name = entry[self.key]

        def change(old: list[Entry], number: int) -> list[Entry]:
            found = any(e[self.key] == name for e in old)
            if create and found:
                raise exists
            if not create and not found:
                raise missing
            new = {**strip(entry), "version": number}
            return [new if e[self.key] == name else e for e in old] if found else [*old, new]

        return self.write(conn, who, "create" if create else "update", name, change)

    def delete(
        self,
        conn: sqlite3.Connection,
        who: str,
        name: str,
        *,
        missing: Conflict,
        check: Callable[[], None] = lambda: None,
    ) -> V:
        """Removes an entry; `check` may refuse (raise) inside the write transaction."""

        def change(old: list[Entry], number: int) -> list[Entry]:
            if not any(e[self.key] == name for e in old):
                raise missing
            check()
            return [e for e in old if e[self.key] != name]

        return self.write(conn, who, "delete", name, change)

    def rollback(
        self,
        conn: sqlite3.Connection,
        who: str,
        version: int,
        *,
        missing: Conflict,
        check: Callable[[set[str]], None] = lambda removed: None,
    ) -> V:
        """A new version whose set is that of `version` (history is never rewritten); `check`
        is given the names it would remove and may refuse."""

        def change(old: list[Entry], number: int) -> list[Entry]:
            target = self.get_version(conn, version)
            if target is None:
                raise missing
            now = {e[self.key]: e for e in old}
            check(set(now) - {e[self.key] for e in target.items})
            # An entry that is already as it was keeps its version; the others get this one.
            return [
                now[e[self.key]]
                if e[self.key] in now and strip(now[e[self.key]]) == strip(e)
                else {**strip(e), "version": number}
                for e in target.items
            ]

        return self.write(conn, who, f"rollback to {version}", None, change)


def summary(version: Version, subject: str) -> dict[str, Any]:
    """A version as the admin API lists it (`subject`: the key naming what it changed)."""
    return {
        "version": version.version,
        "at": datetime.fromtimestamp(version.at, UTC).isoformat(timespec="seconds"),
        "who": version.who,
        "action": version.action,
        subject: version.subject,
    }
