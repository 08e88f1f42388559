from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from palisade.guardrails.decisions import Decision
from palisade.store.interactions import (
    RECORD_COLUMNS,
    Filters,
    InteractionWriter,
    Record,
    decode_cursor,
    encode_cursor,
    get_interaction,
    list_interactions,
    list_sessions,
    parse_time,
    since_seq,
)
from palisade.store.sqlite import PAGE_SIZE, connect


class Events:
    """Records what the writer reports (the metrics do this in the gateway)."""

    def __init__(self) -> None:
        self.total = 0
        self.drops: dict[str, int] = {}
        self.executions: list[tuple[str, str | None]] = []

    def written(self, count: int) -> None:
        self.total += count

    def dropped(self, count: int, reason: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + count

    def new_execution(self, proxy: str, agent_id: str | None) -> None:
        self.executions.append((proxy, agent_id))


_COUNTER = iter(range(1, 1_000_000))


def values(**overrides: Any) -> tuple[Any, ...]:
    row: dict[str, Any] = {
        "id": f"req_test{next(_COUNTER):08d}",
        "ts": time.time(),
        "proxy": "default",
        "auth_method": "none",
        "key_id": None,
        "agent_id": None,
        "user_id": None,
        "session_id": None,
        "execution_id": None,
        "provider": "mock",
        "model": "gpt-4o",
        "served_model": "gpt-4o",
        "endpoint": "chat/completions",
        "stream": False,
        "status": 200,
        "upstream_status": 200,
        "error_code": None,
        "latency_ms": 12.5,
        "ttft_ms": None,
        "input_tokens": 10,
        "output_tokens": 20,
        "cached_tokens": 0,
        "reasoning_tokens": 0,
        "tokens_counted": False,
        "cost_usd": 0.000225,
        "limit_outcome": None,
        "dedup": None,
        "trace_id": None,
        "request_bytes": 42,
        "cache_write_tokens": 0,
        "translation": None,
        "attempts": None,
        "downgraded_from": None,
        "downgrade_reason": None,
    }
    unknown = set(overrides) - set(row)
    assert not unknown, unknown
    row.update(overrides)
    assert tuple(row) == RECORD_COLUMNS
    return tuple(row.values())


def writer(path: Path, events: Events | None = None, **kwargs: Any) -> InteractionWriter:
    options: dict[str, Any] = {
        "queue_size": 1000,
        "bodies": True,
        "max_body_bytes": 1024,
        "retention_days": 30.0,
        **kwargs,
    }
    return InteractionWriter(str(path), events=events, **options)


def written(w: InteractionWriter, records: list[Record]) -> None:
    w.start()
    try:
        for r in records:
            assert w.submit(r)
        assert w.flush()
    finally:
        w.stop()


def test_records_round_trip_with_bodies_and_decisions(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    decision = Decision(
        guardrail="secrets-block",
        type="secrets",
        action="block",
        direction="request",
        where="messages[0].content",
        counts=(("aws_access_key", 1),),
    )
    rec = Record(
        values(id="req_one", agent_id="agent-a", session_id="s-1", status=400),
        (decision,),
        b'{"model":"gpt-4o"}',
        b"data: {}\n\ndata: [DONE]\n\n",
    )
    events = Events()
    written(writer(db, events), [rec])
    assert events.total == 1
    item = get_interaction(str(db), "req_one")
    assert item is not None
    assert item["agent_id"] == "agent-a"
    assert item["status"] == 400
    assert item["request_body"] == '{"model":"gpt-4o"}'
    assert item["response_body"] == "data: {}\n\ndata: [DONE]\n\n"
    assert item["response_bytes"] == len("data: {}\n\ndata: [DONE]\n\n")
    assert item["guardrail_actions"] == ["block"]
    assert item["decisions"] == [decision.as_record()]
    assert item["time"].endswith("Z")
    assert get_interaction(str(db), "req_other") is None


def test_bodies_are_cut_or_left_out(tmp_path: Path) -> None:
    big = ("é" * 600).encode()  # 1200 bytes: the cut at 1024 lands inside nothing odd
    db = tmp_path / "cut.db"
    written(writer(db), [Record(values(id="req_cut"), (), big, big)])
    item = get_interaction(str(db), "req_cut")
    assert item is not None
    assert len(item["request_body"].encode()) == 1024
    assert item["response_bytes"] == 1200

    db = tmp_path / "off.db"
    written(writer(db, bodies=False), [Record(values(id="req_off"), (), b"{}", b"{}")])
    item = get_interaction(str(db), "req_off")
    assert item is not None
    assert item["request_body"] is None
    assert item["response_body"] is None
    assert item["response_bytes"] == 2


def test_filters_and_cursor_pagination(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    base = time.time() - 100
    records = [
        Record(
            values(
                id=f"req_{i:02d}",
                ts=base + i,
                agent_id="a" if i % 2 else "b",
                user_id="u1",
                session_id=f"s{i % 3}",
                status=200 if i % 5 else 500,
                model="gpt-4o" if i < 10 else "gpt-4o-mini",
            ),
            (Decision("pii", "pii", "redact", "request", "x"),) if i % 4 == 0 else (),
        )
        for i in range(20)
    ]
    written(writer(db), records)
    path = str(db)

    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = list_interactions(path, Filters(), cursor=cursor, limit=6)
        seen += [item["id"] for item in page]
        if cursor is None:
            break
    assert seen == [f"req_{i:02d}" for i in reversed(range(20))]  # newest first, each once

    def ids(**kw: Any) -> list[str]:
        return [item["id"] for item in list_interactions(path, Filters(**kw), limit=100)[0]]

    assert ids(agent_id="a") == [f"req_{i:02d}" for i in reversed(range(20)) if i % 2]
    assert ids(status=500) == ["req_15", "req_10", "req_05", "req_00"]
    assert ids(model="gpt-4o-mini") == [f"req_{i:02d}" for i in reversed(range(10, 20))]
    assert ids(guardrail_action="redact") == ["req_16", "req_12", "req_08", "req_04", "req_00"]
    assert ids(guardrail_action="block") == []
    assert ids(since=base + 17.5) == ["req_19", "req_18"]
    assert ids(until=base + 1.5) == ["req_01", "req_00"]
    assert ids(session_id="s1", agent_id="b") == ["req_16", "req_10", "req_04"]
    assert ids(user_id="nobody") == []
    newer = since_seq(path, Filters(), 18)
    assert [item["id"] for item in newer] == ["req_18", "req_19"]


def test_sessions_are_grouped(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    base = time.time() - 100
    records = [
        Record(values(ts=base + 1, session_id="s-a", agent_id="x", execution_id="e1")),
        Record(values(ts=base + 2, session_id="s-a", agent_id="y", execution_id="e2")),
        Record(values(ts=base + 3, session_id="s-b", status=502, cost_usd=None)),
        Record(values(ts=base + 4, session_id=None)),
        Record(values(ts=base + 5, session_id="s-c")),
    ]
    written(writer(db), records)
    page, cursor = list_sessions(str(db), Filters(), limit=2)
    assert [s["session_id"] for s in page] == ["s-c", "s-b"]
    assert page[1]["errors"] == 1
    assert page[1]["cost_usd"] is None
    assert cursor is not None
    rest, end = list_sessions(str(db), Filters(), cursor=cursor, limit=2)
    assert end is None
    (a,) = rest
    assert a["session_id"] == "s-a"
    assert (a["requests"], a["executions"], a["agent_ids"]) == (2, 2, ["x", "y"])
    assert (a["input_tokens"], a["output_tokens"]) == (20, 40)
    assert a["cost_usd"] == pytest.approx(0.00045)


def test_an_execution_is_counted_once_across_workers(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    events = [Events(), Events()]
    workers = [writer(db, e) for e in events]  # two workers, one file
    for w in workers:
        w.start()
    try:
        for round_ in range(3):
            for w in workers:
                for execution in ("run-1", "run-2", f"run-{round_ + 3}"):
                    w.submit(Record(values(execution_id=execution, agent_id="bot")))
            for w in workers:
                assert w.flush()
    finally:
        for w in workers:
            w.stop()
    new = events[0].executions + events[1].executions
    assert len(new) == 5  # run-1 .. run-5, whichever worker saw each first
    assert set(new) == {("default", "bot")}
    assert sum(e.total for e in events) == 18


def test_a_full_queue_drops_and_counts(tmp_path: Path) -> None:
    events = Events()
    w = writer(tmp_path / "p.db", events, queue_size=3)  # not started: nothing drains it
    accepted = [w.submit(Record(values())) for _ in range(5)]
    assert accepted == [True, True, True, False, False]
    assert events.drops == {"queue_full": 2}
    assert w.stats.dropped == {"queue_full": 2}
    w.start()
    assert w.flush()
    w.stop()
    assert events.total == 3


def test_write_failures_are_counted_and_the_writer_recovers(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    events = Events()
    w = writer(blocker / "p.db", events)
    w.start()
    try:
        for _ in range(4):
            w.submit(Record(values()))
        assert w.flush()
        deadline = time.monotonic() + 10
        while events.drops.get("write_error", 0) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert events.drops == {"write_error": 4}
        assert events.total == 0
        # The store comes back: the next batch opens it afresh.
        blocker.unlink()
        blocker.mkdir()
        w.submit(Record(values(id="req_back")))
        assert w.flush()
        deadline = time.monotonic() + 10
        while events.total < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        w.stop()
    assert events.total == 1
    assert get_interaction(str(blocker / "p.db"), "req_back") is not None


def test_retention_deletes_old_records(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    old = time.time() - 3 * 86400
    written(
        writer(db, retention_days=0),  # 0 keeps everything
        [
            Record(values(id="req_old", ts=old, execution_id="old-run")),
            Record(values(id="req_new", execution_id="new-run")),
        ],
    )
    assert get_interaction(str(db), "req_old") is not None
    w = writer(db, retention_days=1)
    w.start()  # purges on start
    w.stop()
    assert get_interaction(str(db), "req_old") is None
    assert get_interaction(str(db), "req_new") is not None
    with sqlite3.connect(db) as conn:
        runs = {r[0] for r in conn.execute("SELECT execution_id FROM executions")}
    assert runs == {"new-run"}


def test_the_database_is_wal_with_large_pages(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    written(writer(db), [Record(values())])
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384


def test_the_gateway_store_creates_the_shared_file_with_large_pages(tmp_path: Path) -> None:
    # The keys' store usually creates the file the interaction log then shares.
    db = tmp_path / "p.db"
    connect(str(db)).close()
    written(writer(db), [Record(values())])
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
        assert conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0] == 1


def test_reading_a_missing_database_finds_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "none.db")
    assert list_interactions(path, Filters()) == ([], None)
    assert list_sessions(path, Filters()) == ([], None)
    assert get_interaction(path, "x") is None
    assert not (tmp_path / "none.db").exists()


def test_cursors() -> None:
    assert decode_cursor(encode_cursor(1.5, 7), float, int) == [1.5, 7]
    for bad in ("", "!!", encode_cursor("x", 1), encode_cursor(1.0), encode_cursor(True, 1)):
        with pytest.raises(ValueError, match="not a cursor"):
            decode_cursor(bad, float, int)


def test_parse_time() -> None:
    assert parse_time("90s", now=1000.0) == 910.0
    assert parse_time("2h", now=10_000.0) == 2800.0
    assert parse_time("1d", now=100_000.0) == 13_600.0
    assert parse_time("1700000000") == 1_700_000_000.0
    assert parse_time("2024-01-01T00:00:00Z") == 1_704_067_200.0
    assert parse_time("2024-01-01T00:00:00") == 1_704_067_200.0
    assert parse_time("2024-01-01T01:00:00+01:00") == 1_704_067_200.0
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_time("yesterday")


def test_large_batches_are_written_whole_and_in_order(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    base = time.time() - 1000
    w = writer(db)  # not started: the whole backlog becomes one batch of 150
    for i in range(150):
        assert w.submit(Record(values(id=f"req_big{i:03d}", ts=base + i), (), None, b"x" * i))
    w.start()
    assert w.flush()
    w.stop()
    assert w.stats.written == 150
    items, _ = list_interactions(str(db), Filters(), limit=500)
    assert [item["id"] for item in items] == [f"req_big{i:03d}" for i in reversed(range(150))]
    assert [item["response_bytes"] for item in items] == list(reversed(range(150)))


def test_a_file_an_older_version_wrote_gets_the_new_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    first = RECORD_COLUMNS[: RECORD_COLUMNS.index("cache_write_tokens")]
    columns = ", ".join(f"{c} {'TEXT' if c == 'id' else ''}" for c in first)
    with sqlite3.connect(db) as conn:  # the table as the first version made it
        conn.execute(
            f"CREATE TABLE interactions (seq INTEGER PRIMARY KEY, {columns}, "
            "guardrail_actions TEXT, decisions TEXT, response_bytes INTEGER, "
            "request_body BLOB, response_body BLOB)"
        )
        conn.execute(
            "INSERT INTO interactions (id, ts, proxy) VALUES ('req_old', ?, 'p')", (time.time(),)
        )
    translation = '{"client": "openai:chat/completions", "provider": "anthropic:messages"}'
    attempts = '[{"deployment": "a:m", "status": 500, "outcome": "server_error"}]'
    fresh = values(
        cache_write_tokens=30,
        translation=translation,
        attempts=attempts,
        downgraded_from="gpt-4o",
        downgrade_reason="simple: 9 tokens <= 500, complexity 0.00 <= 0.35",
    )
    written(writer(db), [Record(fresh, (), None, None)])
    found = get_interaction(str(db), fresh[0])
    assert found is not None
    assert found["cache_write_tokens"] == 30
    assert found["translation"]["provider"] == "anthropic:messages"
    assert found["attempts"] == [{"deployment": "a:m", "status": 500, "outcome": "server_error"}]
    assert found["downgraded_from"] == "gpt-4o"
    assert found["downgrade_reason"].startswith("simple: 9 tokens")
    old = get_interaction(str(db), "req_old")
    assert old is not None
    assert old["translation"] is None
    assert old["attempts"] is None
    assert old["downgraded_from"] is None
