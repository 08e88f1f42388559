"""The Rust batch writer the interaction log writes through, seen from Python."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from palisade._core import SqliteBatchWriter, SqliteError

SETUP = "CREATE TABLE t (k TEXT PRIMARY KEY, i INTEGER, f REAL, b BLOB, n)"
INSERT = "INSERT INTO t VALUES (?, ?, ?, ?, ?)"


def rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT *, typeof(i) FROM t ORDER BY k").fetchall()


def test_values_keep_their_types_and_change_counts_come_back(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    writer = SqliteBatchWriter(str(path), SETUP, 1.0)
    changes = writer.write(
        [
            (INSERT, [("a", 2**62, 0.5, b"\x00\xff", None), ("é", True, -1.0, b"", "x")]),
            ("INSERT OR IGNORE INTO t (k) VALUES (?)", [("a",), ("c",)]),
        ]
    )
    assert changes == [[1, 1], [0, 1]]
    assert rows(path) == [
        ("a", 2**62, 0.5, b"\x00\xff", None, "integer"),
        ("c", None, None, None, None, "null"),
        ("é", 1, -1.0, b"", "x", "integer"),  # a bool is stored as an integer
    ]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert writer.execute("DELETE FROM t WHERE k != ?", ("a",)) == 2
    writer.close()
    with pytest.raises(SqliteError, match="closed"):
        writer.write([(INSERT, [("z", 1, 1.0, b"", None)])])


def test_a_failing_row_leaves_nothing_of_its_batch(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    writer = SqliteBatchWriter(str(path), SETUP, 1.0)
    with pytest.raises(SqliteError, match="UNIQUE"):
        writer.write([(INSERT, [("a", 1, 1.0, b"", None), ("a", 2, 2.0, b"", None)])])
    assert rows(path) == []


@pytest.mark.parametrize(
    ("batch", "error"),
    [
        ([(INSERT, [("a", 1, 1.0, b"", object())])], TypeError),
        ([(INSERT, [("a", 1, 1.0, b"", None), ("b", 1)])], ValueError),
        ([(INSERT, [("a", 2**70, 1.0, b"", None)])], OverflowError),
        ([("INSERT INTO nowhere VALUES (?)", [(1,)])], SqliteError),
    ],
)
def test_bad_rows_are_refused_before_or_by_sqlite(
    tmp_path: Path, batch: list[tuple[str, list[tuple[object, ...]]]], error: type[Exception]
) -> None:
    path = tmp_path / "t.db"
    writer = SqliteBatchWriter(str(path), SETUP, 1.0)
    with pytest.raises(error):
        writer.write(batch)  # type: ignore[arg-type]
    assert rows(path) == []


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("DELETE FROM t WHERE k = ?", (), "takes 1 values"),
        ("DELETE FROM t WHERE k = ?", ("a", "b"), "takes 1 values"),
        ("DELETE FROM t; DELETE FROM t", (), "not one SQL statement"),
        ("  ", (), "not one SQL statement"),
    ],
)
def test_execute_runs_exactly_one_statement_with_its_values(
    tmp_path: Path, sql: str, params: tuple[object, ...], message: str
) -> None:
    path = tmp_path / "t.db"
    writer = SqliteBatchWriter(str(path), SETUP, 1.0)
    writer.write([(INSERT, [("a", 1, 1.0, b"", None)])])
    with pytest.raises(SqliteError, match=message):
        writer.execute(sql, params)  # type: ignore[arg-type]
    assert len(rows(path)) == 1
    assert writer.execute("DELETE FROM t", ()) == 1
