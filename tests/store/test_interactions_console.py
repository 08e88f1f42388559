"""The listings the console pages through, against a brute-force answer: a model (requested or
served) through its two indexes, the floors through the narrow time index, sessions found
newest first, each page after the cursor of the one before."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from palisade.store.interactions import Filters, Record, list_interactions, list_sessions
from tests.store.test_interactions import values, writer, written


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("console") / "c.db"
    rng = random.Random(3)
    now = time.time()
    rows: list[dict[str, Any]] = []
    for i in range(300):
        row = {
            "id": f"req_c{i:05d}",
            "ts": now - 3000 + i * 7 + rng.random(),
            "model": rng.choice(["m1", "m2", "m3"]),
            "served_model": rng.choice(["m1", "m2", "m3-2024"]),
            "latency_ms": rng.choice([5.0, 50.0, 5000.0]),
            "session_id": rng.choice([None, *(f"s{k}" for k in range(30))]),
            "agent_id": rng.choice(["a", "b"]),
        }
        rows.append(row)
    written(writer(path, queue_size=1000), [Record(values(**r)) for r in rows])
    return path, rows


def _all_pages(lister: Any, path: Path, filters: Filters, limit: int) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page, cursor = lister(str(path), filters, cursor=cursor, limit=limit)
        items += page
        if cursor is None:
            return items


@pytest.mark.parametrize(
    ("filters", "match"),
    [
        (Filters(model="m3-2024"), lambda r: "m3-2024" in (r["model"], r["served_model"])),
        (Filters(model="m1"), lambda r: "m1" in (r["model"], r["served_model"])),
        (Filters(model="m2", agent_id="a"), lambda r: "m2" in (r["model"], r["served_model"])
         and r["agent_id"] == "a"),
        (Filters(min_latency_ms=1000), lambda r: r["latency_ms"] >= 1000),
        (Filters(min_latency_ms=1000, agent_id="b"), lambda r: r["latency_ms"] >= 1000
         and r["agent_id"] == "b"),
    ],
)  # fmt: skip
def test_pages_hold_exactly_the_matching_records_newest_first(
    db: tuple[Path, list[dict[str, Any]]], filters: Filters, match: Any
) -> None:
    path, rows = db
    expected = [r["id"] for r in sorted(rows, key=lambda r: -r["ts"]) if match(r)]
    assert expected
    found = [i["id"] for i in _all_pages(list_interactions, path, filters, 7)]
    assert found == expected


@pytest.mark.parametrize("filters", [Filters(), Filters(agent_id="a")])
def test_sessions_page_by_last_activity(
    db: tuple[Path, list[dict[str, Any]]], filters: Filters
) -> None:
    path, rows = db
    newest: dict[str, float] = {}
    counts: dict[str, int] = {}
    for r in rows:
        if r["session_id"] is None or (filters.agent_id and r["agent_id"] != filters.agent_id):
            continue
        newest[r["session_id"]] = max(newest.get(r["session_id"], 0.0), r["ts"])
        counts[r["session_id"]] = counts.get(r["session_id"], 0) + 1
    expected = sorted(newest, key=lambda s: (-newest[s], s))
    found = _all_pages(list_sessions, path, filters, 4)
    assert [s["session_id"] for s in found] == expected
    assert {s["session_id"]: s["requests"] for s in found} == counts


def test_a_file_without_the_filters_index_is_still_listed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    written(writer(path), [Record(values(latency_ms=9000.0)), Record(values())])
    with sqlite3.connect(path) as conn:  # as a file no writer of this version opened
        conn.execute("DROP INDEX interactions_ts_filters")
    items, _ = list_interactions(str(path), Filters(min_latency_ms=1000))
    assert len(items) == 1
