from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from palisade.identity import credentials
from palisade.store import keys
from palisade.store.sqlite import connect, counters


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(str(tmp_path / "t.db"), [keys.SCHEMA])
    yield c
    c.close()


def test_a_key_is_stored_by_hash_and_its_changes_are_counted(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    key, token = keys.create(
        conn, proxy_id="p", name="ci", user_id="ann", providers=("mock",), limits={"tpm": 10}
    )
    parsed = credentials.parse(token)
    assert parsed is not None
    assert parsed.id == key.id
    stored = keys.get(conn, key.id)
    assert stored == key
    assert credentials.verify(parsed.secret, stored.secret_hash)
    assert counters(conn) == {"keys": 1}
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert parsed.secret.encode() not in (tmp_path / "t.db").read_bytes()
    assert "secret_hash" not in key.public()
    assert key.public()["limits"] == {"tpm": 10}


def test_revoking_keeps_the_first_time_and_shows_up_as_a_change(conn: sqlite3.Connection) -> None:
    key, _ = keys.create(conn, proxy_id="p", name="a")
    seen = counters(conn)["keys"]
    first = keys.revoke(conn, key.id)
    assert first is not None
    assert first.revoked_at is not None
    again = keys.revoke(conn, key.id)
    assert again is not None
    assert again.revoked_at == first.revoked_at
    assert [k.id for k in keys.changed_since(conn, seen)] == [key.id]
    assert keys.revoke(conn, "000000000000") is None


def test_listing_by_proxy(conn: sqlite3.Connection) -> None:
    a, _ = keys.create(conn, proxy_id="a", name="1")
    b, _ = keys.create(conn, proxy_id="b", name="2")
    assert [k.id for k in keys.listing(conn)] == [a.id, b.id]
    assert [k.id for k in keys.listing(conn, "b")] == [b.id]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, {}),
        ({"rpm": 5, "tpm": None}, {"rpm": 5}),
        ({"budget_usd": 3}, {"budget_usd": 3.0, "budget_period": "month"}),
        ({"budget_usd": 1.5, "budget_period": "day"}, {"budget_usd": 1.5, "budget_period": "day"}),
    ],
)
def test_limits(raw: dict[str, object], expected: dict[str, object]) -> None:
    assert keys.parse_limits(raw) == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"rpm": 0}, "`rpm` must be a whole number"),
        ({"tpm": 1.5}, "`tpm` must be a whole number"),
        ({"rpm": True}, "`rpm` must be a whole number"),
        ({"budget_usd": -1}, "`budget_usd` must be a number greater than 0"),
        ({"budget_usd": 1, "budget_period": "week"}, "`budget_period` must be one of"),
        ({"budget_period": "day"}, "needs `budget_usd`"),
        ({"rps": 1}, "unknown limit `rps`"),
    ],
)
def test_bad_limits_say_which(raw: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        keys.parse_limits(raw)


def test_expiry_durations_and_dates() -> None:
    now = 1_800_000_000.0
    assert keys.parse_expiry("30d", now) == now + 30 * 86400
    assert keys.parse_expiry("12h", now) == now + 12 * 3600
    assert keys.parse_expiry("90m", now) == now + 90 * 60
    assert keys.parse_expiry("2030-01-31", now) == datetime(2030, 1, 31, tzinfo=UTC).timestamp()
    assert keys.parse_expiry("2030-01-31T10:00:00+02:00", now) == (
        datetime(2030, 1, 31, 8, tzinfo=UTC).timestamp()
    )
    with pytest.raises(ValueError, match="in the past"):
        keys.parse_expiry("2020-01-01", now)
    with pytest.raises(ValueError, match="a duration"):
        keys.parse_expiry("soon", now)
