"""What `/ready` checks: a registry of named async checks on the gateway, run together, each
with a short timeout. A subsystem that a worker cannot serve without adds its own
(`gateway.ready_checks.append(ReadyCheck("name", probe))`); `/health` stays a liveness check
that runs none of them.

A probe raises when its part is not ready; its answer names the exception, never a URL or a
credential (the Redis URL may hold a password, so it is never part of a message here).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp

from palisade.store.limits_store import LimitsStore
from palisade.store.redis import RedisStore

# Short: a load balancer probes every few seconds and a slow answer is as bad as a failed one.
CHECK_TIMEOUT_S = 1.0
_PROBE_TABLE = "palisade_ready_probe"


@dataclass(frozen=True, slots=True)
class ReadyCheck:
    name: str
    probe: Callable[[], Awaitable[None]]
    timeout_s: float = CHECK_TIMEOUT_S


async def _outcome(check: ReadyCheck) -> str:
    try:
        async with asyncio.timeout(check.timeout_s):
            await check.probe()
    except TimeoutError:
        return f"timeout after {check.timeout_s:g} s"
    except Exception as exc:  # any failure means not ready, and says which
        return f"{type(exc).__name__}: {exc}"[:200] if _plain(exc) else type(exc).__name__
    return "ok"


def _plain(exc: Exception) -> bool:
    """Messages known to name no credential: SQLite's, the OS's."""
    return isinstance(exc, sqlite3.Error | OSError | NotReady)


class NotReady(Exception):
    pass


async def run_checks(checks: Sequence[ReadyCheck]) -> dict[str, str]:
    """Every check's outcome, `ok` or what failed, by name."""
    outcomes = await asyncio.gather(*(_outcome(c) for c in checks))
    return {c.name: outcome for c, outcome in zip(checks, outcomes, strict=True)}


def store_checks(
    session: aiohttp.ClientSession, path: str, store: LimitsStore | None
) -> list[ReadyCheck]:
    """The checks of what the config uses: the upstream pool, the SQLite store at `path`
    (always: keys, proxies, the interaction log) and Redis when the limits `store` is it."""

    async def upstream_pool() -> None:
        if session.closed:
            raise NotReady("the upstream connection pool is closed")

    async def sqlite() -> None:
        # Blocking (a file lock may be waited for): in a thread, never on the event loop.
        await asyncio.to_thread(sqlite_writable, path, CHECK_TIMEOUT_S * 0.8)

    checks = [ReadyCheck("upstream_pool", upstream_pool), ReadyCheck("sqlite", sqlite)]
    if isinstance(store, RedisStore):
        checks.append(ReadyCheck("redis", store.ping))
    return checks


def sqlite_writable(path: str, timeout_s: float) -> None:
    """A write in a transaction that is rolled back: the file exists and opens read-write, the
    write lock can be taken within `timeout_s`, and SQLite accepts a change. Nothing is kept:
    in WAL mode a rolled-back change never reaches the file."""
    if path == ":memory:":
        return
    uri = f"file:{quote(os.fspath(Path(path).resolve()))}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"CREATE TABLE {_PROBE_TABLE} (x)")
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()
