from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from palisade.store import guardrails, proxies, proxy_deployments
from palisade.store.guardrails import GuardrailConflict
from palisade.store.sqlite import connect, counters


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(
        str(tmp_path / "t.db"), [proxies.SCHEMA, proxy_deployments.SCHEMA, guardrails.SCHEMA]
    )
    yield c
    c.close()


def pii(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "pii", "direction": "both", "action": "redact", **extra}


def names_versions(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    latest = guardrails.current(conn)
    assert latest is not None
    return [(g["name"], g["version"]) for g in latest.guardrails]


def test_the_first_seed_is_version_1_and_an_unchanged_file_writes_nothing(
    conn: sqlite3.Connection,
) -> None:
    first = guardrails.seed(conn, [pii("a"), pii("b")])
    assert first is not None
    assert (first.version, first.who, first.action) == (1, "palisade.yaml", "seed")
    assert guardrails.seed(conn, [pii("a"), pii("b")]) is None
    assert names_versions(conn) == [("a", 1), ("b", 1)]
    assert counters(conn) == {"guardrails": 1}


def test_an_empty_file_still_seeds_a_first_version(conn: sqlite3.Connection) -> None:
    # The workers load the current set on start; there is always one.
    assert guardrails.seed(conn, []) is not None
    latest = guardrails.current(conn)
    assert latest is not None
    assert latest.guardrails == []


def test_a_changed_file_updates_adds_and_removes_only_what_it_owns(
    conn: sqlite3.Connection,
) -> None:
    guardrails.seed(conn, [pii("a"), pii("b"), pii("c")])
    guardrails.put(conn, "admin", pii("mine"), create=True)  # 2
    guardrails.put(conn, "admin", pii("b", action="block"), create=False)  # 3
    seeded = guardrails.seed(conn, [pii("a", action="mask"), pii("c"), pii("d")])
    assert seeded is not None
    assert seeded.version == 4
    # `a` changed in the file, `d` is new, `b` left the file but an admin changed it: kept.
    assert names_versions(conn) == [("a", 4), ("b", 3), ("c", 1), ("mine", 2), ("d", 4)]
    latest = guardrails.current(conn)
    assert latest is not None
    assert latest.guardrails[0]["action"] == "mask"
    # `c` left the file and nobody touched it: removed.
    assert guardrails.seed(conn, [pii("a", action="mask"), pii("d")]) is not None
    assert [n for n, _ in names_versions(conn)] == ["a", "b", "mine", "d"]


def test_changes_are_versions_with_who_and_what_and_conflicts_write_nothing(
    conn: sqlite3.Connection,
) -> None:
    guardrails.seed(conn, [pii("a")])
    guardrails.put(conn, "admin", pii("x"), create=True)
    with pytest.raises(GuardrailConflict, match="exists"):
        guardrails.put(conn, "admin", pii("x"), create=True)
    with pytest.raises(GuardrailConflict, match="no guardrail"):
        guardrails.put(conn, "admin", pii("y"), create=False)
    with pytest.raises(GuardrailConflict, match="no guardrail"):
        guardrails.delete(conn, "admin", "y")
    guardrails.delete(conn, "admin", "x")
    history = [(v.version, v.who, v.action, v.name) for v in guardrails.versions(conn)]
    assert history == [
        (3, "admin", "delete", "x"),
        (2, "admin", "create", "x"),
        (1, "palisade.yaml", "seed", None),
    ]
    assert [v.version for v in guardrails.versions(conn, limit=1, before=3)] == [2]
    assert counters(conn) == {"guardrails": 3}


def test_a_guardrail_a_proxy_attaches_cannot_be_deleted(conn: sqlite3.Connection) -> None:
    guardrails.seed(conn, [pii("a"), pii("b")])
    proxies.seed(
        conn,
        [
            {"id": "one", "name": "one", "guardrails": ["a"]},
            {"id": "two", "name": "two", "guardrails": ["b", "a"]},
        ],
    )
    with pytest.raises(GuardrailConflict, match="`a` is attached by the proxies `one`, `two`"):
        guardrails.delete(conn, "admin", "a")
    assert [n for n, _ in names_versions(conn)] == ["a", "b"]
    proxies.put(conn, "admin", {"id": "one", "name": "one", "guardrails": []}, create=False)
    proxies.delete(conn, "admin", "two")
    assert guardrails.delete(conn, "admin", "a").guardrails == [{**pii("b"), "version": 1}]


def test_the_version_a_gateway_runs_counts_as_attaching(conn: sqlite3.Connection) -> None:
    guardrails.seed(conn, [pii("a")])
    proxies.seed(conn, [{"id": "p", "name": "p", "guardrails": ["a"]}])  # proxy version 1
    proxy_deployments.deploy(conn, "admin", "p", "edge", 1)
    proxies.put(conn, "admin", {"id": "p", "name": "p", "guardrails": []}, create=False)
    # The current definition no longer attaches `a`, but the gateway `edge` runs version 1.
    with pytest.raises(GuardrailConflict, match="`a` is attached by the proxies `p`"):
        guardrails.delete(conn, "admin", "a")
    proxy_deployments.stop(conn, "admin", "p", "edge")
    assert guardrails.attached_by(conn, ["a"]) == {}
    guardrails.delete(conn, "admin", "a")


def test_a_rollback_is_a_new_version_with_the_old_set(conn: sqlite3.Connection) -> None:
    guardrails.seed(conn, [pii("a")])
    guardrails.put(conn, "admin", pii("x", action="flag"), create=True)  # 2
    guardrails.put(conn, "admin", pii("x", action="block"), create=False)  # 3
    rolled = guardrails.rollback(conn, "admin", 2)
    assert (rolled.version, rolled.action, rolled.name) == (4, "rollback to 2", None)
    assert [(g["name"], g["action"], g["version"]) for g in rolled.guardrails] == [
        ("a", "redact", 1),
        ("x", "flag", 4),
    ]
    with pytest.raises(GuardrailConflict, match="no version 99"):
        guardrails.rollback(conn, "admin", 99)
    old = guardrails.get_version(conn, 3)
    assert old is not None
    assert old.guardrails[1]["action"] == "block"


def test_a_rollback_that_would_take_away_an_attached_guardrail_is_refused(
    conn: sqlite3.Connection,
) -> None:
    guardrails.seed(conn, [pii("a")])
    guardrails.put(conn, "admin", pii("new"), create=True)  # 2
    proxies.seed(conn, [{"id": "p", "name": "p", "guardrails": ["new"]}])
    with pytest.raises(GuardrailConflict, match="roll back to version 1: `new` is attached"):
        guardrails.rollback(conn, "admin", 1)
    latest = guardrails.current(conn)
    assert latest is not None
    assert latest.version == 2
