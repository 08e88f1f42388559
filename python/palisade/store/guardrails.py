"""Guardrail definitions in SQLite, as numbered versions of the whole set (`store/versioned.py`,
as the proxies are kept: history, seeding from the file, rollback).

A guardrail's own `version` is the version in which it last changed. Every change bumps the
`guardrails` counter, which the workers poll to rebuild the proxies that attach it. Proxies name
guardrails, so a change that would take away a guardrail a current proxy attaches (or the
version of it a gateway runs) is refused, naming the proxies.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from palisade.store import proxies, proxy_deployments, versioned
from palisade.store.versioned import SEED_WHO, VersionedSet

__all__ = ["SEED_WHO", "TOPIC"]

TOPIC = "guardrails"

GuardrailDict = dict[str, Any]
GuardrailConflict = versioned.Conflict


@dataclass(frozen=True, slots=True)
class Version(versioned.Version):
    @property
    def guardrails(self) -> list[GuardrailDict]:
        return self.items

    @property
    def name(self) -> str | None:
        return self.subject

    def summary(self) -> dict[str, Any]:
        return versioned.summary(self, "guardrail")


_SET = VersionedSet(
    "guardrail", subject="name", items="guardrails", key="name", topic=TOPIC, version_type=Version
)
SCHEMA = _SET.schema
current = _SET.current
get_version = _SET.get_version
versions = _SET.versions
seed = _SET.seed


def attached_by(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, list[str]]:
    """Guardrail name -> the ids of the current proxies that attach it (only names in use):
    in their current definition, or in the older version a gateway runs (a deployment)."""
    wanted = set(names)
    latest = proxies.current(conn)
    current = [] if latest is None else latest.proxies
    running = list(current)
    ids = {p["id"] for p in current}
    sets: dict[int, list[dict[str, Any]]] = {}  # pinned proxies often share a version
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


def put(conn: sqlite3.Connection, who: str, guardrail: GuardrailDict, *, create: bool) -> Version:
    """Creates (create=True, the name must be free) or replaces (it must exist) a guardrail."""
    name = guardrail["name"]
    return _SET.put(
        conn,
        who,
        guardrail,
        create=create,
        exists=GuardrailConflict("guardrail_exists", f"a guardrail named `{name}` exists"),
        missing=_missing(name),
    )


def _missing(name: str) -> GuardrailConflict:
    return GuardrailConflict("guardrail_not_found", f"no guardrail is named `{name}`")


def delete(conn: sqlite3.Connection, who: str, name: str) -> Version:
    return _SET.delete(
        conn,
        who,
        name,
        missing=_missing(name),
        check=lambda: _refuse_attached(conn, [name], f"delete the guardrail `{name}`"),
    )


def rollback(conn: sqlite3.Connection, who: str, version: int) -> Version:
    """A new version whose set is that of `version` (history is never rewritten)."""
    return _SET.rollback(
        conn,
        who,
        version,
        missing=GuardrailConflict("version_not_found", f"there is no version {version}"),
        check=lambda removed: _refuse_attached(conn, removed, f"roll back to version {version}"),
    )
