from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from palisade.identity import credentials
from palisade.store import clients
from palisade.store.sqlite import connect, counters


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(str(tmp_path / "t.db"), [clients.SCHEMA])
    yield c
    c.close()


def test_a_client_gets_tokens_that_verify_and_expire(conn: sqlite3.Connection) -> None:
    client, secret = clients.create(conn, proxy_id="apps", name="batch", user_id="svc")
    assert client.id.startswith("cli_")
    assert credentials.verify(secret, client.secret_hash)
    record, token = clients.issue_token(conn, client.id, ttl_s=60)
    parsed = credentials.parse(token)
    assert parsed is not None
    assert parsed.kind == "pat"
    stored = clients.get_token(conn, parsed.id)
    assert stored == record
    assert credentials.verify(parsed.secret, stored.secret_hash)
    assert time.time() + 55 < stored.expires_at <= time.time() + 60


def test_issuing_sweeps_expired_tokens(conn: sqlite3.Connection) -> None:
    client, _ = clients.create(conn, proxy_id="apps", name="batch")
    old, _ = clients.issue_token(conn, client.id, ttl_s=0.001)
    time.sleep(0.01)  # the old token must lie in the past for the sweep; not an assertion
    clients.issue_token(conn, client.id, ttl_s=60)
    assert clients.get_token(conn, old.id) is None


def test_revoking_a_client_is_a_change(conn: sqlite3.Connection) -> None:
    client, _ = clients.create(conn, proxy_id="apps", name="batch")
    seen = counters(conn)["clients"]
    revoked = clients.revoke(conn, client.id)
    assert revoked is not None
    assert revoked.revoked_at is not None
    assert [c.id for c in clients.changed_since(conn, seen)] == [client.id]
    assert [c.id for c in clients.listing(conn)] == [client.id]
    assert clients.revoke(conn, "cli_nope") is None
