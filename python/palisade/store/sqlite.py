"""The embedded SQLite store: one file in WAL mode (readers never wait for the writer, and
every worker and the CLI open the same file), a change counter per topic that workers poll to
learn about each other's writes, and one thread per worker that owns its connection, so no
SQLite call ever runs on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")

# A database takes its page size at its first write, and keeps it in WAL mode. 16 KiB rather
# than SQLite's 4 KiB: the interaction log's rows (1-2 KB with their bodies) then take a quarter
# of the WAL frames, write calls and checkpoint copies (measured: 16.7 -> 13.2 us per record).
PAGE_SIZE = 16384

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    topic TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
"""


def connect(path: str, schemas: Iterable[str] = ()) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit, see `transaction`), with
    each module's schema applied; every module creates its own tables if they are missing."""
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    wal(conn)
    # WAL + NORMAL: durable across process crashes, at most the last commits lost on power
    # loss, and no fsync per write.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    with transaction(conn):
        for script in (_SCHEMA, *schemas):
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
    return conn


def wal(conn: sqlite3.Connection) -> None:
    """WAL mode, and `PAGE_SIZE` when the database is new."""
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = WAL")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the write lock up front: read-modify-write sequences
    (versions, counters) from several processes then serialise instead of failing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def bump(conn: sqlite3.Connection, topic: str) -> int:
    """Counts one change of `topic` and returns the new count; call inside the transaction
    that makes the change, so a poller never sees the count before the change."""
    row = conn.execute(
        "INSERT INTO changes (topic, seq) VALUES (?, 1) "
        "ON CONFLICT (topic) DO UPDATE SET seq = seq + 1 RETURNING seq",
        (topic,),
    ).fetchone()
    seq: int = row[0]
    return seq


def revoke_row(conn: sqlite3.Connection, table: str, topic: str, row_id: str) -> bool:
    """Marks a row of one of this package's credential tables (`revoked_at`, `changed`) revoked,
    keeping the first time, and counts the change; False when there is no such row."""
    with transaction(conn):
        if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone() is None:  # noqa: S608
            return False
        seq = bump(conn, topic)
        conn.execute(
            f"UPDATE {table} SET revoked_at = COALESCE(revoked_at, ?), changed = ? "  # noqa: S608
            "WHERE id = ?",
            (time.time(), seq, row_id),
        )
        return True


def counters(conn: sqlite3.Connection) -> dict[str, int]:
    return {topic: seq for topic, seq in conn.execute("SELECT topic, seq FROM changes")}


class Database:
    """One worker's handle: a single thread owns the connection and runs every call in turn."""

    def __init__(self, path: str, schemas: Iterable[str] = ()) -> None:
        self.path = path
        self._schemas = tuple(schemas)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="palisade-sqlite")
        self._conn: sqlite3.Connection | None = None

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            self._conn = connect(self.path, self._schemas)
        return fn(self._conn)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)


def iso(ts: float | None) -> str | None:
    """A stored UNIX time as listings show it (UTC, seconds)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
