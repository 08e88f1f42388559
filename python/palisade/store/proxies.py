"""LLM proxies in SQLite, as numbered versions of the whole proxy set (`store/versioned.py`:
history, seeding from the file, rollback). A proxy's own `version` is the version in which it
last changed. Every change bumps the `proxies` counter, which the workers poll.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from palisade.store import versioned
from palisade.store.versioned import SEED_WHO, VersionedSet

__all__ = ["SEED_WHO", "TOPIC"]

TOPIC = "proxies"

ProxyDict = dict[str, Any]


class ProxyConflict(versioned.Conflict):
    """The change does not fit the current set (no such proxy, id taken, unknown version)."""

    def __init__(self, message: str) -> None:
        super().__init__("conflict", message)


@dataclass(frozen=True, slots=True)
class Version(versioned.Version):
    @property
    def proxies(self) -> list[ProxyDict]:
        return self.items

    @property
    def proxy_id(self) -> str | None:
        return self.subject

    def summary(self) -> dict[str, Any]:
        return versioned.summary(self, "proxy")


_SET = VersionedSet(
    "proxy", subject="proxy_id", items="proxies", key="id", topic=TOPIC, version_type=Version
)
SCHEMA = _SET.schema
current = _SET.current
get_version = _SET.get_version
versions = _SET.versions
seed = _SET.seed


def put(conn: sqlite3.Connection, who: str, proxy: ProxyDict, *, create: bool) -> Version:
    """Creates (create=True, the id must be free) or replaces (the id must exist) a proxy."""
    pid = proxy["id"]
    return _SET.put(
        conn,
        who,
        proxy,
        create=create,
        exists=ProxyConflict(f"a proxy with the id `{pid}` exists"),
        missing=ProxyConflict(f"no proxy has the id `{pid}`"),
    )


def delete(conn: sqlite3.Connection, who: str, proxy_id: str) -> Version:
    return _SET.delete(
        conn, who, proxy_id, missing=ProxyConflict(f"no proxy has the id `{proxy_id}`")
    )


def rollback(conn: sqlite3.Connection, who: str, version: int) -> Version:
    """A new version whose set is that of `version` (history is never rewritten)."""
    return _SET.rollback(
        conn, who, version, missing=ProxyConflict(f"there is no version {version}")
    )
