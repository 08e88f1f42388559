"""Budget spend on disk for the in-process backend, so that it survives a restart.

Charges are summed in memory and written in batches by one background thread (SQLite never runs
on the event loop); `close()` writes what is left, so a clean shutdown loses nothing and a crash
loses at most one flush interval.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from palisade.store.sqlite import wal

log = logging.getLogger("palisade.limits")

_FLUSH_S = 0.2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS limit_spend (
    key TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    nano INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (key, bucket)
)
"""
_UPSERT = """
INSERT INTO limit_spend (key, bucket, nano, expires_ms) VALUES (?, ?, ?, ?)
ON CONFLICT (key, bucket) DO UPDATE SET
    nano = nano + excluded.nano, expires_ms = max(expires_ms, excluded.expires_ms)
"""

Row = tuple[str, int, int, int]


class SpendLog:
    def __init__(self, path: str) -> None:
        self._path = path
        self._pending: dict[tuple[str, int], list[int]] = {}
        # One thread owns the connection: SQLite work is serialized and off the loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="palisade-spend")
        self._db: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def load(self, now_ms: int) -> list[Row]:
        rows = await asyncio.get_running_loop().run_in_executor(self._executor, self._load, now_ms)
        self._task = asyncio.get_running_loop().create_task(self._flush_forever())
        return rows

    def add(self, key: str, bucket: int, nano: int, expires_ms: int) -> None:
        item = self._pending.get((key, bucket))
        if item is None:
            self._pending[(key, bucket)] = [nano, expires_ms]
        else:
            item[0] += nano
            item[1] = max(item[1], expires_ms)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch = [(k, b, n, e) for (k, b), (n, e) in self._pending.items()]
        self._pending = {}
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._write, batch)
        except sqlite3.Error as exc:
            log.error("budget spend not saved to %s: %s", self._path, exc)
            for key, bucket, nano, expires_ms in batch:  # kept for the next attempt
                self.add(key, bucket, nano, expires_ms)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await self.flush()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_S)
            await self.flush()

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self._path, timeout=5, check_same_thread=False)
            wal(self._db)
            self._db.execute(_SCHEMA)
        return self._db

    def _load(self, now_ms: int) -> list[Row]:
        if not Path(self._path).exists():
            return []  # created on the first charge, not just because the gateway started
        db = self._connect()
        with db:
            db.execute("DELETE FROM limit_spend WHERE expires_ms <= ?", (now_ms,))
        return list(db.execute("SELECT key, bucket, nano, expires_ms FROM limit_spend"))

    def _write(self, batch: list[Row]) -> None:
        db = self._connect()
        with db:
            db.executemany(_UPSERT, batch)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
