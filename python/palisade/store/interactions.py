"""The interaction log in SQLite: a background batch writer per worker, and the queries.

Every worker appends to the same file: WAL lets readers run beside the one writer at a time,
the busy timeout makes the workers' writers take turns, and one transaction per batch keeps the
per-record cost of a commit small. The request path only appends a `Record` to a bounded
in-memory queue; serializing and body cutting happen in the writer thread, and the SQL in the
Rust extension with the GIL released (`SqliteBatchWriter`: the event loop keeps running while
SQLite works, and no parameter goes through `sqlite3`'s slow adapter path). A
record that cannot be queued (queue full) or written (database read-only, disk full, locked for
too long) is counted through `WriterEvents` and logged, never dropped silently.

The `executions` table is the first-seen set of execution ids shared by all workers: a batch
inserts its ids with `INSERT OR IGNORE`, and only the worker whose insert took reports the id
as new, so each execution is counted once however many workers see it.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import logging
import math
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

import orjson

from palisade._core import SqliteBatchWriter, SqliteError
from palisade.guardrails.decisions import Decision
from palisade.store import interaction_stats
from palisade.store.sqlite import PAGE_SIZE

log = logging.getLogger("palisade.interactions")

# The values a `Record` carries, in this order; the writer adds the rest of `_COLUMNS`.
RECORD_COLUMNS = (
    "id",
    "ts",
    "proxy",
    "auth_method",
    "key_id",
    "agent_id",
    "user_id",
    "session_id",
    "execution_id",
    "provider",
    "model",
    "served_model",
    "endpoint",
    "stream",
    "status",
    "upstream_status",
    "error_code",
    "latency_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "tokens_counted",
    "cost_usd",
    "limit_outcome",
    "dedup",
    "trace_id",
    "request_bytes",
    "cache_write_tokens",
    "translation",
    "attempts",
    "downgraded_from",
    "downgrade_reason",
)
_COLUMNS = (
    *RECORD_COLUMNS,
    "guardrail_actions",
    "decisions",
    "response_bytes",
    "request_body",
    "response_body",
)
_SUMMARY_COLUMNS = ("seq", *_COLUMNS[:-2])

_SCHEMA = (
    f"""
PRAGMA page_size = {PAGE_SIZE};
CREATE TABLE IF NOT EXISTS interactions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ts REAL NOT NULL,
    proxy TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    key_id TEXT,
    agent_id TEXT,
    user_id TEXT,
    session_id TEXT,
    execution_id TEXT,
    provider TEXT,
    model TEXT,
    served_model TEXT,
    endpoint TEXT NOT NULL,
    stream INTEGER NOT NULL,
    status INTEGER NOT NULL,
    upstream_status INTEGER,
    error_code TEXT,
    latency_ms REAL NOT NULL,
    ttft_ms REAL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    tokens_counted INTEGER NOT NULL,
    cost_usd REAL,
    limit_outcome TEXT,
    dedup TEXT,
    trace_id TEXT,
    request_bytes INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    translation TEXT,
    attempts TEXT,
    downgraded_from TEXT,
    downgrade_reason TEXT,
    guardrail_actions TEXT,
    decisions TEXT,
    response_bytes INTEGER,
    request_body BLOB,
    response_body BLOB
);
CREATE INDEX IF NOT EXISTS interactions_ts ON interactions (ts);
CREATE INDEX IF NOT EXISTS interactions_agent ON interactions (agent_id)
    WHERE agent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS interactions_session ON interactions (session_id)
    WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS interactions_execution ON interactions (execution_id)
    WHERE execution_id IS NOT NULL;
-- The console's filters without an index of their own (proxy, user, model, status, the floors
-- on latency, cost and tokens) read from this narrow index while it walks in time order,
-- never from the wide rows: a filter that matches almost nothing scans it in about 0.1 s over
-- 1M records, where the rows took 1 s. One index rather than one per filter: each costs the
-- writer about 1 us per record (measured: six of them took it from 6.4 to 14.3 us).
CREATE INDEX IF NOT EXISTS interactions_ts_filters ON interactions
    (ts, proxy, user_id, model, served_model, status, latency_ms, cost_usd, input_tokens,
     output_tokens);
CREATE INDEX IF NOT EXISTS interactions_guarded_ts ON interactions (ts)
    WHERE guardrail_actions IS NOT NULL;
CREATE TABLE IF NOT EXISTS executions (
    execution_id TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,
    proxy TEXT NOT NULL,
    agent_id TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS executions_first_seen ON executions (first_seen);
"""
    + interaction_stats.SCHEMA
)
_INSERT = (
    f"INSERT INTO interactions ({', '.join(_COLUMNS)}) "  # noqa: S608 - fixed names
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
_FIRST_SEEN = "INSERT OR IGNORE INTO executions VALUES (?, ?, ?, ?)"

BUSY_TIMEOUT_S = 5.0
# A batch per quarter second at most: a transaction of hundreds of rows costs less per row
# than one of dozens (measured: 23 -> 20 us per row from 135 to 2000 rows per commit).
BATCH_SIZE = 1024
FLUSH_INTERVAL_S = 0.25
PURGE_INTERVAL_S = 600.0
ROLLUP_INTERVAL_S = 5.0
_PURGE_CHUNK = 2000
_LOG_EVERY_S = 10.0
_KNOWN_EXECUTIONS = 4096


class Record(NamedTuple):
    """One finished request, built on the request path. Only strings, numbers, bytes and
    tuples of them: the garbage collector stops tracking such a tuple at its first pass, so a
    queue of thousands costs the collections nothing."""

    values: tuple[Any, ...]  # RECORD_COLUMNS order
    decisions: tuple[Decision, ...] = ()
    # The body as the provider saw it; None when the request never got that far.
    request_body: bytes | None = None
    # The answer as the client got it (a stream's chunks joined).
    response_body: bytes | None = None


class WriterEvents(Protocol):
    """What the writer reports, for the metrics."""

    def written(self, count: int) -> None: ...

    def dropped(self, count: int, reason: str) -> None: ...

    def new_execution(self, proxy: str, agent_id: str | None) -> None: ...


class NoEvents:
    def written(self, count: int) -> None:
        pass

    def dropped(self, count: int, reason: str) -> None:
        pass

    def new_execution(self, proxy: str, agent_id: str | None) -> None:
        pass


# Columns added after the table's first version: (name, definition), added to an older file
# when the writer opens it.
_ADDED_COLUMNS = (
    ("cache_write_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("translation", "TEXT"),
    ("attempts", "TEXT"),
    ("downgraded_from", "TEXT"),
    ("downgrade_reason", "TEXT"),
)


def open_writer(path: str) -> SqliteBatchWriter:
    """A connection for writing (WAL, `synchronous=NORMAL`), with the schema in place."""
    writer = SqliteBatchWriter(path, _SCHEMA, BUSY_TIMEOUT_S)
    _add_columns(path)
    return writer


def _add_columns(path: str) -> None:
    """Brings a file written by an older version up to the current columns (SQLite has no
    `ADD COLUMN IF NOT EXISTS`); the writer never reads, so Python's module looks."""
    with contextlib.closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)) as conn:
        present = {row[1] for row in conn.execute("PRAGMA table_info(interactions)")}
        for name, definition in _ADDED_COLUMNS:
            if name not in present:
                try:
                    conn.execute(f"ALTER TABLE interactions ADD COLUMN {name} {definition}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):  # another worker was first
                        raise
        conn.commit()


@dataclass
class WriterStats:
    queued: int = 0
    written: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


class InteractionWriter:
    """A daemon thread that writes queued records in batches. `submit` never blocks."""

    def __init__(
        self,
        path: str,
        *,
        queue_size: int,
        bodies: bool,
        max_body_bytes: int,
        retention_days: float,
        events: WriterEvents | None = None,
    ) -> None:
        self.path = path
        self.bodies = bodies
        self.max_body_bytes = max_body_bytes
        self.retention_s = retention_days * 86400.0
        self.events: WriterEvents = events or NoEvents()
        self.stats = WriterStats()
        self._max = queue_size
        # deque.append and popleft are atomic: the request path takes no lock.
        self._queue: collections.deque[Record] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._conn: SqliteBatchWriter | None = None
        self._known: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._next_purge = 0.0
        self._next_rollup = 0.0
        self._unlogged: dict[str, int] = {}
        self._next_log = 0.0

    # --- request path ---------------------------------------------------------------------

    def submit(self, record: Record) -> bool:
        if len(self._queue) >= self._max:
            self._drop(1, "queue_full")
            return False
        self._queue.append(record)
        if len(self._queue) >= BATCH_SIZE and not self._wake.is_set():
            self._wake.set()
        return True

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        # Before serving: readers of a file an older version wrote must find the new columns.
        with contextlib.suppress(sqlite3.Error, SqliteError):
            self._connection()
        self._thread = threading.Thread(target=self._run, name="palisade-records", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Writes what is queued and closes the database."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("interaction writer did not finish in %.0fs", timeout_s)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Waits until the queue is empty (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout_s
        while self._queue and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.005)
        return not self._queue

    # --- writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            stopping = self._stopping
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH_SIZE, len(self._queue)))]
                self._write(batch)
            if self.retention_s > 0 and time.monotonic() >= self._next_purge:
                self._purge()
            if time.monotonic() >= self._next_rollup:
                self._roll_up()
            self._flush_log()
            if stopping:
                break
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(self, batch: list[Record]) -> None:
        try:
            rows = [self._row(r) for r in batch]
        except Exception:
            log.exception("could not serialize %d interaction records", len(batch))
            self._drop(len(batch), "serialize_error")
            return
        executions = self._unknown_executions(batch)
        try:
            conn = self._connection()
        except Exception as exc:  # a file that cannot be opened takes the whole batch
            self._write_failed(len(batch), exc)
            return
        try:
            # One transaction, with the GIL released: the rows, then the executions' first-seen
            # inserts, whose change counts say which executions this worker saw first.
            _, firsts = conn.write([(_INSERT, rows), (_FIRST_SEEN, executions)])
        except Exception as exc:  # SqliteError mostly; nothing may stop the writer thread
            if len(batch) > 1:
                # One transaction is all or nothing: on a disk that fills up, the records that
                # still fit are kept by writing the batch again in halves (only on this path).
                self._reset_connection()
                half = len(batch) // 2
                self._write(batch[:half])
                self._write(batch[half:])
                return
            self._write_failed(1, exc)
            return
        self.stats.written += len(batch)
        self.events.written(len(batch))
        for (execution_id, _, proxy, agent_id), first in zip(executions, firsts, strict=True):
            self._remember(execution_id)
            if first:
                self.events.new_execution(proxy, agent_id)

    def _connection(self) -> SqliteBatchWriter:
        if self._conn is None:
            self._conn = open_writer(self.path)
        return self._conn

    def _reset_connection(self) -> None:
        # A connection that failed may be stuck in a bad state (a vanished file, a full disk):
        # the next write starts afresh.
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write_failed(self, count: int, exc: Exception) -> None:
        self._drop(count, "write_error")
        self._reset_connection()
        now = time.monotonic()
        if now >= self._next_log:
            log.error("interaction log: writing to %s failed: %s", self.path, exc)
            if not isinstance(exc, SqliteError):
                log.error("interaction log: unexpected error", exc_info=exc)

    def _unknown_executions(self, batch: list[Record]) -> list[tuple[str, float, str, str | None]]:
        """The batch's execution ids this worker has not seen written yet, once each, as
        `executions` rows."""
        rows: list[tuple[str, float, str, str | None]] = []
        seen_here: set[str] = set()
        for record in batch:
            values = record.values
            execution_id = values[8]
            if execution_id is None or execution_id in seen_here or execution_id in self._known:
                continue
            seen_here.add(execution_id)
            rows.append((execution_id, values[1], values[2], values[5]))
        return rows

    def _remember(self, execution_id: str) -> None:
        self._known[execution_id] = None
        if len(self._known) > _KNOWN_EXECUTIONS:
            self._known.popitem(last=False)

    def _row(self, record: Record) -> tuple[Any, ...]:
        values, decisions, request, response = record
        actions = summary = None
        if decisions:
            actions = f",{','.join(sorted({d.action for d in decisions}))},"
            summary = orjson.dumps([d.as_record() for d in decisions]).decode()
        size = None if response is None else len(response)
        # Kept as the bytes that went over the wire (BLOBs), decoded when read.
        if not self.bodies:
            return (*values, actions, summary, size, None, None)
        cut = self.max_body_bytes
        if request is not None and len(request) > cut:
            request = request[:cut]
        if response is not None and len(response) > cut:
            response = response[:cut]
        return (*values, actions, summary, size, request, response)

    def _roll_up(self) -> None:
        """One chunk of the dashboards' rollups (store/interaction_stats.py), off the request
        path like the writes."""
        self._next_rollup = time.monotonic() + ROLLUP_INTERVAL_S
        try:
            self._connection().write([(sql, [()]) for sql in interaction_stats.CATCH_UP])
        except SqliteError as exc:
            log.warning("interaction log: summing the dashboards' rollups failed: %s", exc)

    def _purge(self) -> None:
        self._next_purge = time.monotonic() + PURGE_INTERVAL_S
        cutoff = time.time() - self.retention_s
        try:
            conn = self._connection()
            for table, key, column in (
                ("interactions", "seq", "ts"),
                ("executions", "execution_id", "first_seen"),
            ):
                # In chunks, so that the other workers' writers never wait long.
                while True:
                    deleted = conn.execute(
                        f"DELETE FROM {table} WHERE {key} IN "  # noqa: S608 - fixed names
                        f"(SELECT {key} FROM {table} WHERE {column} < ? LIMIT {_PURGE_CHUNK})",
                        (cutoff,),
                    )
                    if deleted < _PURGE_CHUNK:
                        break
        except SqliteError as exc:
            log.warning("interaction log: retention purge failed: %s", exc)

    def _drop(self, count: int, reason: str) -> None:
        self.stats.dropped[reason] = self.stats.dropped.get(reason, 0) + count
        self.events.dropped(count, reason)
        self._unlogged[reason] = self._unlogged.get(reason, 0) + count

    def _flush_log(self) -> None:
        """Drops are logged at most every few seconds, with their counts, not once each."""
        if not self._unlogged or time.monotonic() < self._next_log:
            return
        counts = ", ".join(f"{n} ({reason})" for reason, n in sorted(self._unlogged.items()))
        log.error("interaction log: records dropped: %s", counts)
        self._unlogged.clear()
        self._next_log = time.monotonic() + _LOG_EVERY_S


# --- queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    agent_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    execution_id: str | None = None
    proxy: str | None = None
    model: str | None = None
    status: int | None = None
    guardrail_action: str | None = None
    since: float | None = None
    until: float | None = None
    # The console's range filters: at least this latency, cost, or tokens (input + output).
    min_latency_ms: float | None = None
    min_cost_usd: float | None = None
    min_tokens: float | None = None
    # `2xx`, `4xx`, `5xx`: any status of that class; `error`: 400 and above.
    status_class: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        for column in ("agent_id", "user_id", "session_id", "execution_id", "proxy", "status"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.model is not None:
            clauses.append("(model = ? OR served_model = ?)")
            args += [self.model, self.model]
        if self.guardrail_action is not None:
            # The first clause lets SQLite use the partial index of guarded records.
            clauses.append("guardrail_actions IS NOT NULL AND instr(guardrail_actions, ?) > 0")
            args.append(f",{self.guardrail_action},")
        for column, bound in (
            ("latency_ms", self.min_latency_ms),
            ("cost_usd", self.min_cost_usd),
            ("input_tokens + output_tokens", self.min_tokens),
        ):
            if bound is not None:
                clauses.append(f"{column} >= ?")
                args.append(bound)
        if self.status_class is not None:
            low = 400 if self.status_class == "error" else int(self.status_class[0]) * 100
            high = 600 if self.status_class == "error" else low + 100
            clauses.append("status >= ? AND status < ?")
            args += [low, high]
        if self.since is not None:
            clauses.append("ts >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("ts < ?")
            args.append(self.until)
        return " AND ".join(clauses) or "1", args

    def index_hint(self) -> str:
        """`INDEXED BY` for a listing newest first: SQLite cannot tell that the narrow
        `interactions_ts_filters` holds every column these filters read, and would walk the
        rows through `interactions_ts`; filters with an index of their own (agent, session,
        execution, guardrail action) are left to the planner."""
        own = (self.agent_id, self.session_id, self.execution_id, self.guardrail_action)
        if any(v is not None for v in own):
            return ""
        return "INDEXED BY interactions_ts_filters"


def open_reader(path: str) -> sqlite3.Connection | None:
    """A read-only connection, or None when no record was ever written there."""
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        conn.execute("SELECT 1 FROM interactions LIMIT 1")
    except sqlite3.OperationalError:
        return None
    return conn


def list_interactions(
    path: str, filters: Filters, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; the cursor (opaque) continues after the last item of the page before."""
    conn = open_reader(path)
    if conn is None:
        return [], None
    try:
        try:
            rows = conn.execute(*_page(filters, cursor, limit + 1)).fetchall()
        except sqlite3.OperationalError as exc:
            # A file no writer of this version has opened yet lacks the index the hint names.
            if "no such index" not in str(exc):
                raise
            rows = conn.execute(*_page(filters, cursor, limit + 1, hints=False)).fetchall()
    finally:
        conn.close()
    more = len(rows) > limit
    # Workers write in batches: time order, not insertion order, is what a reader expects.
    last = rows[limit - 1] if more else None
    items = [_item(_SUMMARY_COLUMNS, row) for row in rows[:limit]]
    return items, encode_cursor(last[2], last[0]) if last is not None else None


def _page(
    filters: Filters, cursor: str | None, n: int, *, hints: bool = True
) -> tuple[str, list[Any]]:
    """The query for `n` records newest first, after `cursor`."""
    if filters.model is None:
        return _newest(filters, cursor, n, hints=hints)
    # The requested or the served model: with an OR, SQLite would sort every match (measured
    # over 1M records: 0.16-0.5 s for a model of 1 record in 10); each side walks its own index
    # newest first instead (2 ms), and the union keeps the newest `n`.
    base = dataclasses.replace(filters, model=None)
    sql_a, args_a = _newest(base, cursor, n, "model = ?", filters.model, hints=hints)
    sql_b, args_b = _newest(base, cursor, n, "served_model = ?", filters.model, hints=hints)
    return (
        f"SELECT * FROM ({sql_a}) UNION SELECT * FROM ({sql_b}) "  # noqa: S608 - fixed names
        "ORDER BY ts DESC, seq DESC LIMIT ?",
        [*args_a, *args_b, n],
    )


def _newest(
    filters: Filters,
    cursor: str | None,
    n: int,
    clause: str = "",
    value: Any = None,
    *,
    hints: bool = True,
) -> tuple[str, list[Any]]:
    where, args = filters.where()
    if clause:
        where += f" AND {clause}"
        args.append(value)
    if cursor is not None:
        where += " AND (ts, seq) < (?, ?)"
        args += decode_cursor(cursor, float, int)
    return (
        f"SELECT {', '.join(_SUMMARY_COLUMNS)} FROM interactions "  # noqa: S608
        f"{filters.index_hint() if hints else ''} "
        f"WHERE {where} ORDER BY ts DESC, seq DESC LIMIT ?",
        [*args, n],
    )


def since_seq(path: str, filters: Filters, seq: int) -> list[dict[str, Any]]:
    """Records after `seq`, oldest first (`palisade logs --follow`)."""
    conn = open_reader(path)
    if conn is None:
        return []
    try:
        where, args = filters.where()
        rows = conn.execute(
            f"SELECT {', '.join(_SUMMARY_COLUMNS)} FROM interactions "  # noqa: S608
            f"WHERE {where} AND seq > ? ORDER BY seq LIMIT 1000",
            [*args, seq],
        ).fetchall()
    finally:
        conn.close()
    return [_item(_SUMMARY_COLUMNS, row) for row in rows]


def get_interaction(path: str, interaction_id: str) -> dict[str, Any] | None:
    conn = open_reader(path)
    if conn is None:
        return None
    try:
        row = conn.execute(
            f"SELECT seq, {', '.join(_COLUMNS)} FROM interactions WHERE id = ?",  # noqa: S608
            (interaction_id,),
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else _item(("seq", *_COLUMNS), row)


def list_sessions(
    path: str, filters: Filters, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str | None]:
    """Sessions (interactions grouped by session id), the most recently active first."""
    conn = open_reader(path)
    if conn is None:
        return [], None
    try:
        where, args = filters.where()
        bound = decode_cursor(cursor, float, str) if cursor is not None else None
        ids = _recent_sessions(conn, where, args, bound, limit + 1)
        rows = conn.execute(
            "SELECT session_id, COUNT(*), MIN(ts), MAX(ts), "  # noqa: S608
            "SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), "
            "SUM(status >= 400 OR error_code IS NOT NULL), "
            "COUNT(DISTINCT execution_id), json_group_array(DISTINCT agent_id), "
            "json_group_array(DISTINCT user_id), json_group_array(DISTINCT proxy) "
            f"FROM interactions WHERE session_id IN ({', '.join('?' for _ in ids)}) "
            f"AND {where} GROUP BY session_id ORDER BY MAX(ts) DESC, session_id DESC",
            [*ids, *args],
        ).fetchall()
    finally:
        conn.close()
    items = [
        {
            "session_id": r[0],
            "requests": r[1],
            "first_time": iso_time(r[2]),
            "last_time": iso_time(r[3]),
            "input_tokens": r[4],
            "output_tokens": r[5],
            "cost_usd": r[6],
            "errors": r[7],
            "executions": r[8],
            "agent_ids": _split(r[9]),
            "user_ids": _split(r[10]),
            "proxies": _split(r[11]),
        }
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return items, encode_cursor(last[3], last[0]) if last is not None else None


def _recent_sessions(
    conn: sqlite3.Connection,
    where: str,
    args: list[Any],
    bound: list[Any] | None,
    n: int,
) -> list[str]:
    """The `n` sessions most recently active (by their newest record matching `where`) before
    `bound` (last time, session id). Walks the records newest first and stops at the `n`th
    session, instead of grouping the whole log (measured over 1M records: 2.8 s -> ms); a
    session met below the bound whose newest record is above it was on an earlier page."""
    found: list[str] = []
    seen: set[str] = set()
    scan_where, scan_args = where, list(args)
    if bound is not None:
        scan_where += " AND ts <= ?"
        scan_args.append(bound[0])
    records = conn.execute(
        f"SELECT session_id FROM interactions WHERE session_id IS NOT NULL "  # noqa: S608
        f"AND {scan_where} ORDER BY ts DESC, seq DESC",
        scan_args,
    )
    while len(found) < n:
        batch = records.fetchmany(512)
        if not batch:
            break
        for (session_id,) in batch:
            if session_id in seen:
                continue
            seen.add(session_id)
            if bound is not None:
                (newest,) = conn.execute(
                    f"SELECT MAX(ts) FROM interactions WHERE session_id = ? AND {where}",  # noqa: S608
                    [session_id, *args],
                ).fetchone()
                if (newest, session_id) >= (bound[0], bound[1]):
                    continue
            found.append(session_id)
            if len(found) == n:
                break
    return found


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> list[Any]:
    """The values `encode_cursor` packed, of these types; ValueError for anything else."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise ValueError("not a cursor") from None
    if not isinstance(values, list) or len(values) != len(types):
        raise ValueError("not a cursor")
    for value, kind in zip(values, types, strict=True):
        ok = isinstance(value, int | float) if kind is float else isinstance(value, kind)
        if not ok or isinstance(value, bool) or (kind is float and not math.isfinite(value)):
            raise ValueError("not a cursor")
    return values


_AGE_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(value: str, now: float | None = None) -> float:
    """Unix seconds from unix seconds, an ISO 8601 time (UTC unless it says otherwise) or an
    age (`90s`, `15m`, `1h`, `7d`: that long before `now`); ValueError otherwise."""
    m = _AGE_RE.match(value)
    if m:
        return (time.time() if now is None else now) - float(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        return float(value)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _split(values: str) -> list[str]:
    return sorted(v for v in orjson.loads(values) if v is not None)


def _item(columns: Iterable[str], row: Sequence[Any]) -> dict[str, Any]:
    item = dict(zip(columns, row, strict=True))
    item["time"] = iso_time(item.pop("ts"))
    item["stream"] = bool(item["stream"])
    item["tokens_counted"] = bool(item["tokens_counted"])
    actions = item.pop("guardrail_actions")
    item["guardrail_actions"] = actions.strip(",").split(",") if actions else []
    decisions = item.get("decisions")
    item["decisions"] = orjson.loads(decisions) if decisions else []
    translation = item.get("translation")
    item["translation"] = orjson.loads(translation) if translation else None
    attempts = item.get("attempts")
    item["attempts"] = orjson.loads(attempts) if attempts else None
    for key in ("request_body", "response_body"):
        body = item.get(key)
        if isinstance(body, bytes):
            # A cut at logging.max_body_bytes may split a UTF-8 sequence: U+FFFD there.
            item[key] = body.decode("utf-8", "replace")
    return item
