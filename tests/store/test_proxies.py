from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from palisade.store import proxies
from palisade.store.proxies import ProxyConflict
from palisade.store.sqlite import connect, counters


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(str(tmp_path / "t.db"), [proxies.SCHEMA])
    yield c
    c.close()


def proxy(pid: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": pid, "description": "", "guardrails": [], **extra}


def ids_versions(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    latest = proxies.current(conn)
    assert latest is not None
    return [(p["id"], p["version"]) for p in latest.proxies]


def test_the_first_seed_is_version_1_and_an_unchanged_file_writes_nothing(
    conn: sqlite3.Connection,
) -> None:
    first = proxies.seed(conn, [proxy("default"), proxy("a")])
    assert first is not None
    assert (first.version, first.who, first.action) == (1, "palisade.yaml", "seed")
    assert proxies.seed(conn, [proxy("default"), proxy("a")]) is None
    assert ids_versions(conn) == [("default", 1), ("a", 1)]
    assert counters(conn) == {"proxies": 1}


def test_a_changed_file_updates_adds_and_removes_only_what_it_owns(
    conn: sqlite3.Connection,
) -> None:
    proxies.seed(conn, [proxy("default"), proxy("a"), proxy("b")])
    proxies.put(conn, "admin", proxy("mine"), create=True)  # version 2
    proxies.put(conn, "admin", proxy("b", description="edited"), create=False)  # version 3
    seeded = proxies.seed(conn, [proxy("default"), proxy("a", description="new"), proxy("c")])
    assert seeded is not None
    assert seeded.version == 4
    # `a` changed in the file, `c` is new, `b` left the file but an admin changed it: kept.
    assert ids_versions(conn) == [("default", 1), ("a", 4), ("b", 3), ("mine", 2), ("c", 4)]
    again = proxies.seed(conn, [proxy("default"), proxy("c")])
    assert again is not None
    assert [p for p, _ in ids_versions(conn)] == ["default", "b", "mine", "c"]


def test_a_changed_file_does_not_undo_what_an_admin_did_to_what_it_did_not_change(
    conn: sqlite3.Connection,
) -> None:
    proxies.seed(conn, [proxy("a"), proxy("b"), proxy("c")])
    proxies.put(conn, "admin", proxy("a", description="edited"), create=False)  # version 2
    proxies.delete(conn, "admin", "b")  # version 3
    seeded = proxies.seed(conn, [proxy("a"), proxy("b"), proxy("c", description="new")])
    assert seeded is not None
    # Only `c` changed in the file: the admin's edit of `a` and delete of `b` stand.
    assert ids_versions(conn) == [("a", 2), ("c", 4)]
    current = proxies.current(conn)
    assert current is not None
    assert current.proxies[0]["description"] == "edited"
    # Once the file changes `a` itself, the file's `a` is written.
    proxies.seed(conn, [proxy("a", description="file"), proxy("b"), proxy("c", description="new")])
    current = proxies.current(conn)
    assert current is not None
    assert [(p["id"], p.get("description")) for p in current.proxies] == [
        ("a", "file"),
        ("c", "new"),
    ]


def test_changes_are_versions_with_who_and_what_and_conflicts_write_nothing(
    conn: sqlite3.Connection,
) -> None:
    proxies.seed(conn, [proxy("default")])
    proxies.put(conn, "admin", proxy("x"), create=True)
    with pytest.raises(ProxyConflict, match="exists"):
        proxies.put(conn, "admin", proxy("x"), create=True)
    with pytest.raises(ProxyConflict, match="no proxy"):
        proxies.put(conn, "admin", proxy("y"), create=False)
    with pytest.raises(ProxyConflict, match="no proxy"):
        proxies.delete(conn, "admin", "y")
    proxies.delete(conn, "admin", "x")
    history = [(v.version, v.who, v.action, v.proxy_id) for v in proxies.versions(conn)]
    assert history == [
        (3, "admin", "delete", "x"),
        (2, "admin", "create", "x"),
        (1, "palisade.yaml", "seed", None),
    ]
    assert [v.version for v in proxies.versions(conn, limit=1, before=3)] == [2]


def test_a_rollback_is_a_new_version_with_the_old_set(conn: sqlite3.Connection) -> None:
    proxies.seed(conn, [proxy("default")])
    proxies.put(conn, "admin", proxy("x", description="one"), create=True)  # 2
    proxies.put(conn, "admin", proxy("x", description="two"), create=False)  # 3
    proxies.delete(conn, "admin", "x")  # 4
    rolled = proxies.rollback(conn, "admin", 2)
    assert (rolled.version, rolled.action) == (5, "rollback to 2")
    latest = proxies.current(conn)
    assert latest is not None
    assert [(p["id"], p.get("description"), p["version"]) for p in latest.proxies] == [
        ("default", "", 1),
        ("x", "one", 5),
    ]
    with pytest.raises(ProxyConflict, match="no version 99"):
        proxies.rollback(conn, "admin", 99)
    old = proxies.get_version(conn, 3)
    assert old is not None
    assert old.proxies[1]["description"] == "two"
