"""The interaction log's aggregates for the console's dashboards: rollups per 5 minutes and
per hour, caught up in batches, and the queries over them.

A dashboard over days must not scan a million rows (measured: one aggregate pass over 1M rows
takes about 0.4 s here, and a dashboard needs five). So the records are also summed into small
tables: `interaction_rollup_<grain>` (counters per time bucket, proxy, agent and model),
`interaction_rollup_<grain>_pm` (the same without the agent, for the charts that do not split
by agent: a few times fewer rows) and `interaction_latency_<grain>` (latency and
time-to-first-token histograms per bucket and proxy, for the percentiles). A trigger per insert
doubled the writer's cost per record (measured: 27 -> 57 us); instead `catch_up` sums the
records written since the last catch-up (by `seq`, which only grows) with one `GROUP BY` per
table (measured: about 11 us per record, 1M records at once), in the writer thread every few
seconds and in the dashboards' endpoint before it reads, so a dashboard shows every record
written before its request. Charts with points shorter than 5 minutes (ranges up to 2 hours)
read the raw records of the range through the `ts` index, with the same queries over a derived
table of the same shape. The latency buckets are a fixed ladder (a `CASE`: no math functions,
which some SQLite builds lack).

Rollups are not purged with the records (`logging.retention_days`): a bucket is a few rows
per proxy, agent and model, and the dashboards keep their history.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

HOUR = 3600
# (seconds per bucket, table suffix), finest first.
GRAINS = ((300, "5m"), (HOUR, "1h"))
# Bucket upper bounds in ms, a factor 1.25 apart from 5 ms to about 10 minutes; the last bucket
# holds everything above.
BOUNDS: tuple[float, ...] = tuple(round(5.0 * 1.25**i, 3) for i in range(53))
ACTIONS = ("block", "redact", "mask", "flag")
_COUNTERS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "latency_ms_sum",
    *(f"g_{a}" for a in ACTIONS),
)
# Records summed per catch-up transaction at most, so that the workers' writers never wait long
# for the write lock (a first catch-up over a large file takes several).
CHUNK = 200_000


def _ladder(column: str) -> str:
    whens = " ".join(f"WHEN {column} < {b} THEN {i}" for i, b in enumerate(BOUNDS))
    return f"(CASE {whens} ELSE {len(BOUNDS)} END)"


def _schema() -> str:
    counters = ", ".join(
        f"{c} {'REAL' if c in ('cost_usd', 'latency_ms_sum') else 'INTEGER'} NOT NULL"
        for c in _COUNTERS
    )
    tables = "".join(
        f"""
CREATE TABLE IF NOT EXISTS interaction_rollup_{name} (
    t INTEGER NOT NULL, proxy TEXT NOT NULL, agent_id TEXT NOT NULL, model TEXT NOT NULL,
    {counters},
    PRIMARY KEY (t, proxy, agent_id, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS interaction_rollup_{name}_pm (
    t INTEGER NOT NULL, proxy TEXT NOT NULL, agent_id TEXT NOT NULL, model TEXT NOT NULL,
    {counters},
    PRIMARY KEY (t, proxy, agent_id, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS interaction_latency_{name} (
    t INTEGER NOT NULL, proxy TEXT NOT NULL, kind INTEGER NOT NULL, le INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (t, proxy, kind, le)
) WITHOUT ROWID;"""
        for _, name in GRAINS
    )
    return f"""{tables}
CREATE TABLE IF NOT EXISTS interaction_rollup_state (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    seq INTEGER NOT NULL
);
INSERT OR IGNORE INTO interaction_rollup_state VALUES (0, 0)
"""  # noqa: S608 - fixed names


SCHEMA = _schema()
_DONE = "(SELECT seq FROM interaction_rollup_state)"
_UPTO = f"(SELECT min(MAX(seq), {_DONE} + {CHUNK}) FROM interactions)"  # noqa: S608
_NEW = f"seq > {_DONE} AND seq <= {_UPTO}"


def _sums() -> str:
    actions = ", ".join(
        f"TOTAL(instr(COALESCE(guardrail_actions, ''), ',{a},') > 0)" for a in ACTIONS
    )
    return (
        "COUNT(*), TOTAL(status >= 400 OR error_code IS NOT NULL), TOTAL(input_tokens), "
        f"TOTAL(output_tokens), TOTAL(cost_usd), TOTAL(latency_ms), {actions}"
    )


def _catch_up_statements() -> tuple[str, ...]:
    statements: list[str] = []
    add = ", ".join(f"{c} = {c} + excluded.{c}" for c in _COUNTERS)
    for grain, name in GRAINS:
        bucket = f"CAST(ts / {grain} AS INTEGER) * {grain}"
        statements.append(
            f"INSERT INTO interaction_rollup_{name} SELECT {bucket}, proxy, "  # noqa: S608
            f"COALESCE(agent_id, ''), COALESCE(model, ''), {_sums()} FROM interactions "
            f"WHERE {_NEW} GROUP BY 1, 2, 3, 4 ON CONFLICT DO UPDATE SET {add}"
        )
        # Without the agent: the charts that do not split by agent read a table a few times
        # smaller (one row per proxy and model instead of per agent).
        statements.append(
            f"INSERT INTO interaction_rollup_{name}_pm SELECT {bucket}, proxy, '', "  # noqa: S608
            f"COALESCE(model, ''), {_sums()} FROM interactions "
            f"WHERE {_NEW} GROUP BY 1, 2, 4 ON CONFLICT DO UPDATE SET {add}"
        )
        for kind, column in ((0, "latency_ms"), (1, "ttft_ms")):
            statements.append(
                f"INSERT INTO interaction_latency_{name} SELECT {bucket}, proxy, {kind}, "  # noqa: S608
                f"{_ladder(column)}, COUNT(*) FROM interactions "
                f"WHERE {_NEW} AND {column} IS NOT NULL GROUP BY 1, 2, 4 "
                "ON CONFLICT DO UPDATE SET count = count + excluded.count"
            )
    # Last: the statements above read the old mark.
    statements.append(
        f"UPDATE interaction_rollup_state SET seq = {_UPTO} "  # noqa: S608
        f"WHERE {_UPTO} > seq"
    )
    return tuple(statements)


# Run in this order in one transaction (all or nothing): a record is summed exactly once.
CATCH_UP = _catch_up_statements()


def catch_up(conn: sqlite3.Connection, chunks: int = 1_000_000) -> int:
    """Sums the records not yet in the rollups, a chunk per transaction, `chunks` at most;
    returns how many chunks moved the mark. `conn` must be in autocommit mode
    (`isolation_level=None`)."""
    done = 0
    while done < chunks:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in CATCH_UP[:-1]:
                conn.execute(statement)
            moved = conn.execute(CATCH_UP[-1]).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if not moved:
            break
        done += 1
    return done


# --- queries ------------------------------------------------------------------------------

# Steps a chart may use, in seconds; the first that gives at most `_MAX_POINTS` points wins.
_STEPS = (60, 300, 900, 1800, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 7 * 24 * HOUR)
_MAX_POINTS = 120
TOP = 6


@dataclass(frozen=True)
class StatsQuery:
    since: float
    until: float
    proxy: str | None = None


def step_for(span: float) -> int:
    for step in _STEPS:
        if span / step <= _MAX_POINTS:
            return step
    return _STEPS[-1]


_RAW_COLUMNS = (
    "SELECT ts AS t, proxy, COALESCE(agent_id, '') AS agent_id, COALESCE(model, '') AS model, "
    "1 AS requests, (status >= 400 OR error_code IS NOT NULL) AS errors, input_tokens, "
    "output_tokens, COALESCE(cost_usd, 0) AS cost_usd, latency_ms AS latency_ms_sum"
)


@dataclass(frozen=True)
class _Sources:
    """Where a dashboard reads, all with the rollup tables' columns (`t` the time): counters
    without the agent, counters by agent, latency histograms; and their arguments."""

    counters: str
    by_agent: str
    latency: str
    args: list[Any]
    latency_args: list[Any]


def _sources(q: StatsQuery, step: int) -> _Sources:
    """The coarsest rollups whose buckets divide a chart point, else the raw rows of the
    range."""
    proxy = " AND proxy = ?" if q.proxy is not None else ""
    for grain, name in reversed(GRAINS):
        if step % grain == 0:
            since = int(q.since // grain * grain)
            args: list[Any] = [since, q.until, *([q.proxy] if q.proxy is not None else [])]
            where = f"t >= ? AND t < ?{proxy}"
            return _Sources(
                f"(SELECT * FROM interaction_rollup_{name}_pm WHERE {where})",  # noqa: S608
                f"(SELECT * FROM interaction_rollup_{name} WHERE {where})",  # noqa: S608
                f"(SELECT * FROM interaction_latency_{name} WHERE {where})",  # noqa: S608
                args,
                args,
            )
    args = [q.since, q.until, *([q.proxy] if q.proxy is not None else [])]
    where = f"ts >= ? AND ts < ?{proxy}"
    actions = ", ".join(
        f"instr(COALESCE(guardrail_actions, ''), ',{a},') > 0 AS g_{a}" for a in ACTIONS
    )
    counters = f"{_RAW_COLUMNS}, {actions} FROM interactions WHERE {where}"
    latency = " UNION ALL ".join(
        f"SELECT ts AS t, {kind} AS kind, {_ladder(column)} AS le, 1 AS count "  # noqa: S608
        f"FROM interactions WHERE {where} AND {column} IS NOT NULL"
        for kind, column in ((0, "latency_ms"), (1, "ttft_ms"))
    )
    return _Sources(f"({counters})", f"({counters})", f"({latency})", args, args + args)


def dashboard(conn: sqlite3.Connection | None, q: StatsQuery) -> dict[str, Any]:
    """Everything the dashboards page draws, for one range (and optionally one proxy), read
    through `conn` (None: nothing was ever recorded)."""
    step = step_for(q.until - q.since)
    start = int(q.since // step * step)
    times = list(range(start, int(q.until) + 1, step))
    index = {t: i for i, t in enumerate(times)}
    out: dict[str, Any] = {
        "since": q.since,
        "until": q.until,
        "step": step,
        "t": times,
        "series": {},
        "by": {},
        "top_agents": [],
    }
    if conn is None:
        return _zeros(out, len(times))
    src = _sources(q, step)
    counters, args = src.counters, src.args
    bucket = f"CAST(t / {step} AS INTEGER) * {step}"
    n = len(times)
    sums = ", ".join(f"TOTAL({c})" for c in _COUNTERS)
    series: dict[str, list[float]] = {c: [0.0] * n for c in _COUNTERS}
    for row in conn.execute(
        f"SELECT {bucket}, {sums} FROM {counters} GROUP BY 1",  # noqa: S608
        args,
    ):
        i = index.get(row[0])
        if i is not None:
            for c, v in zip(_COUNTERS, row[1:], strict=True):
                series[c][i] = v
    hist: dict[tuple[int, int], list[int]] = {}
    for t, kind, le, count in conn.execute(
        f"SELECT {bucket}, kind, le, SUM(count) FROM {src.latency} GROUP BY 1, 2, 3",  # noqa: S608
        src.latency_args,
    ):
        hist.setdefault((t, kind), [0] * (len(BOUNDS) + 1))[le] += count
    for name, kind, p in (
        ("latency_p50", 0, 0.5),
        ("latency_p99", 0, 0.99),
        ("ttft_p50", 1, 0.5),
        ("ttft_p99", 1, 0.99),
    ):
        values: list[float | None] = [None] * n
        for (t, k), counts in hist.items():
            i = index.get(t)
            if k == kind and i is not None:
                values[i] = percentile(counts, p)
        out["series"][name] = values
    for c in _COUNTERS:
        out["series"][c] = series[c]
    for dim in ("proxy", "agent_id", "model"):
        rows = conn.execute(
            f"SELECT {bucket}, {dim}, TOTAL(requests), "  # noqa: S608
            f"TOTAL(input_tokens + output_tokens), TOTAL(cost_usd) "
            f"FROM {src.by_agent if dim == 'agent_id' else counters} GROUP BY 1, 2",
            args,
        ).fetchall()
        out["by"][dim] = _breakdown(rows, index, n)
    out["top_agents"] = [
        {"agent_id": a, "cost_usd": c, "requests": r, "tokens": tok}
        for a, c, r, tok in conn.execute(
            f"SELECT agent_id, TOTAL(cost_usd), TOTAL(requests), "  # noqa: S608
            f"TOTAL(input_tokens + output_tokens) FROM {src.by_agent} "
            "WHERE agent_id != '' GROUP BY 1 ORDER BY 2 DESC, 3 DESC LIMIT 10",
            args,
        )
    ]
    return out


def _zeros(out: dict[str, Any], n: int) -> dict[str, Any]:
    out["series"] = {c: [0.0] * n for c in _COUNTERS} | {
        name: [None] * n for name in ("latency_p50", "latency_p99", "ttft_p50", "ttft_p99")
    }
    out["by"] = {
        dim: {"keys": [], "requests": {}, "tokens": {}, "cost_usd": {}}
        for dim in ("proxy", "agent_id", "model")
    }
    return out


def _breakdown(
    rows: list[tuple[int, str, float, float, float]], index: dict[int, int], n: int
) -> dict[str, Any]:
    """Per key of one dimension (the `TOP` by requests, the rest as `other`), its requests,
    tokens and cost per point."""
    totals: dict[str, float] = {}
    for _, key, requests, _, _ in rows:
        totals[key] = totals.get(key, 0.0) + requests
    top = sorted(totals, key=lambda k: (-totals[k], k))[:TOP]
    keys = [*top, "other"] if len(totals) > TOP else top
    out: dict[str, Any] = {"keys": [k or "(none)" for k in keys]}
    for j, metric in enumerate(("requests", "tokens", "cost_usd")):
        lines = {k or "(none)": [0.0] * n for k in keys}
        for t, key, *metrics in rows:
            i = index.get(t)
            if i is None:
                continue
            name = (key if key in top else "other") or "(none)"
            lines[name][i] += metrics[j]
        out[metric] = lines
    return out


def percentile(counts: list[int], p: float) -> float | None:
    """The `p` quantile of a histogram over `BOUNDS`, interpolated inside its bucket."""
    total = sum(counts)
    if total == 0:
        return None
    rank = p * total
    seen = 0
    for i, count in enumerate(counts):
        if count and seen + count >= rank:
            low = BOUNDS[i - 1] if i > 0 else 0.0
            high = BOUNDS[i] if i < len(BOUNDS) else BOUNDS[-1] * 1.25
            return round(low + (high - low) * (rank - seen) / count, 1)
        seen += count
    return BOUNDS[-1]
