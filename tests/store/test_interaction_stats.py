"""The dashboards' rollups: caught up once per record, and the same figures from the rollups
(long ranges) as from the raw records (short ranges)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from palisade.guardrails.decisions import Decision
from palisade.store.interaction_stats import (
    BOUNDS,
    StatsQuery,
    catch_up,
    dashboard,
    percentile,
    step_for,
)
from palisade.store.interactions import Record, open_reader
from tests.store.test_interactions import values, writer, written

REDACT = Decision(guardrail="g", type="pii", action="redact", direction="request", where="x")


def _records(now: float) -> list[Record]:
    records = []
    for i in range(40):
        records.append(
            Record(
                values(
                    ts=now - 600 - i,
                    proxy="a" if i % 4 else "b",
                    agent_id=f"agent-{i % 3}",
                    model="m1" if i % 2 else "m2",
                    status=500 if i % 10 == 0 else 200,
                    latency_ms=100.0 + i,
                    ttft_ms=20.0,
                    input_tokens=10,
                    output_tokens=5,
                    cost_usd=0.01 * (i % 3 + 1),
                ),
                (REDACT,) if i % 5 == 0 else (),
            )
        )
    return records


def _dash(db: Path, q: StatsQuery) -> dict[str, object]:
    conn = open_reader(str(db))
    assert conn is not None
    with contextlib.closing(conn):
        return dashboard(conn, q)


def test_rollups_count_each_record_once_and_agree_with_the_raw_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    now = time.time()
    written(writer(db), _records(now))
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        catch_up(conn)
        assert catch_up(conn) == 0  # nothing new: nothing summed twice
        (mark,) = conn.execute("SELECT seq FROM interaction_rollup_state").fetchone()
        assert mark == 40
    # One hour: raw rows (1-minute points); two days: the 5-minute rollups.
    short = _dash(db, StatsQuery(now - 3600, now))
    long = _dash(db, StatsQuery(now - 2 * 86400, now))
    assert short["step"] == 60
    assert long["step"] == 1800
    for d in (short, long):
        series = d["series"]
        assert isinstance(series, dict)
        assert sum(series["requests"]) == 40
        assert sum(series["errors"]) == 4
        assert sum(series["input_tokens"]) == 400
        assert sum(series["g_redact"]) == 8
        assert sum(series["g_block"]) == 0
        assert sum(series["cost_usd"]) == pytest.approx(0.01 * (14 * 1 + 13 * 2 + 13 * 3))
        p50 = [v for v in series["latency_p50"] if v is not None]
        assert p50
        assert all(100 <= v <= 160 for v in p50)
        by = d["by"]
        assert isinstance(by, dict)
        assert sorted(by["proxy"]["keys"]) == ["a", "b"]
        assert sum(by["proxy"]["requests"]["b"]) == 10
        assert sum(by["model"]["requests"]["m1"]) == 20
        top = d["top_agents"]
        assert isinstance(top, list)
        assert [a["agent_id"] for a in top] == ["agent-2", "agent-1", "agent-0"]
    only_b = _dash(db, StatsQuery(now - 2 * 86400, now, proxy="b"))
    assert sum(only_b["series"]["requests"]) == 10  # type: ignore[index]


def test_records_written_later_are_added_to_the_rollups(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    now = time.time()
    written(writer(db), _records(now)[:10])
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        catch_up(conn)
        written(writer(db), _records(now)[10:])
        assert catch_up(conn) == 1
    long = _dash(db, StatsQuery(now - 86400, now))
    assert sum(long["series"]["requests"]) == 40  # type: ignore[index]


def test_percentile_interpolates_inside_the_bucket() -> None:
    counts = [0] * (len(BOUNDS) + 1)
    assert percentile(counts, 0.5) is None
    i = next(i for i, b in enumerate(BOUNDS) if b > 100)
    counts[i] = 100
    p50 = percentile(counts, 0.5)
    assert p50 is not None
    assert BOUNDS[i - 1] < p50 < BOUNDS[i]


@pytest.mark.parametrize(
    ("span", "step"), [(3600, 60), (6 * 3600, 300), (86400, 900), (7 * 86400, 3 * 3600)]
)
def test_a_chart_has_at_most_120_points(span: int, step: int) -> None:
    assert step_for(span) == step
    assert span / step <= 120
