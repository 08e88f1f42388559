"""OAuth clients (client-credentials grant) and the access tokens issued to them, in SQLite.
Client secrets and tokens are stored as SHA-256 only (see identity/credentials.py). Client
changes bump the `clients` counter; tokens never change once issued (a revoked client's tokens
are refused through the client)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from palisade.identity.credentials import ACCESS_TOKEN, issue, new_id, new_secret
from palisade.store.sqlite import bump, iso, revoke_row, transaction

TOPIC = "clients"

SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_clients (
    id TEXT PRIMARY KEY,
    proxy_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL,
    user_id TEXT,
    changed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS oauth_clients_changed ON oauth_clients (changed);
CREATE TABLE IF NOT EXISTS oauth_tokens (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_tokens_expiry ON oauth_tokens (expires_at);
"""

_CLIENT_COLUMNS = "id, proxy_id, name, secret_hash, created_at, revoked_at, user_id, changed"
CLIENT_ID_PREFIX = "cli_"


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    proxy_id: str
    name: str
    secret_hash: bytes = field(repr=False)
    created_at: float
    revoked_at: float | None = None
    user_id: str | None = None
    changed: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "proxy": self.proxy_id,
            "name": self.name,
            "created_at": iso(self.created_at),
            "revoked_at": iso(self.revoked_at),
            "user": self.user_id,
        }


@dataclass(frozen=True, slots=True)
class AccessToken:
    id: str
    client_id: str
    secret_hash: bytes = field(repr=False)
    expires_at: float


def _client(row: tuple[Any, ...]) -> Client:
    return Client(
        id=row[0],
        proxy_id=row[1],
        name=row[2],
        secret_hash=bytes(row[3]),
        created_at=row[4],
        revoked_at=row[5],
        user_id=row[6],
        changed=row[7],
    )


def create(
    conn: sqlite3.Connection, *, proxy_id: str, name: str, user_id: str | None = None
) -> tuple[Client, str]:
    """A new client and its secret, which is shown once and never stored."""
    secret, secret_hash = new_secret()
    with transaction(conn):
        seq = bump(conn, TOPIC)
        client = Client(
            id=CLIENT_ID_PREFIX + new_id(),
            proxy_id=proxy_id,
            name=name,
            secret_hash=secret_hash,
            created_at=time.time(),
            user_id=user_id,
            changed=seq,
        )
        conn.execute(
            f"INSERT INTO oauth_clients ({_CLIENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                client.id,
                client.proxy_id,
                client.name,
                client.secret_hash,
                client.created_at,
                client.revoked_at,
                client.user_id,
                client.changed,
            ),
        )
    return client, secret


def get(conn: sqlite3.Connection, client_id: str) -> Client | None:
    row = conn.execute(
        f"SELECT {_CLIENT_COLUMNS} FROM oauth_clients WHERE id = ?",  # noqa: S608
        (client_id,),
    ).fetchone()
    return None if row is None else _client(row)


def listing(conn: sqlite3.Connection) -> list[Client]:
    rows = conn.execute(
        f"SELECT {_CLIENT_COLUMNS} FROM oauth_clients ORDER BY created_at"  # noqa: S608
    )
    return [_client(r) for r in rows]


def changed_since(conn: sqlite3.Connection, seq: int) -> list[Client]:
    rows = conn.execute(
        f"SELECT {_CLIENT_COLUMNS} FROM oauth_clients WHERE changed > ?",  # noqa: S608
        (seq,),
    )
    return [_client(r) for r in rows]


def revoke(conn: sqlite3.Connection, client_id: str) -> Client | None:
    return get(conn, client_id) if revoke_row(conn, "oauth_clients", TOPIC, client_id) else None


def issue_token(conn: sqlite3.Connection, client_id: str, ttl_s: float) -> tuple[AccessToken, str]:
    """A new access token for the client (shown once); expired tokens are swept on the way."""
    token_id, token, secret_hash = issue(ACCESS_TOKEN)
    now = time.time()
    record = AccessToken(
        id=token_id, client_id=client_id, secret_hash=secret_hash, expires_at=now + ttl_s
    )
    with transaction(conn):
        conn.execute("DELETE FROM oauth_tokens WHERE expires_at < ?", (now,))
        conn.execute(
            "INSERT INTO oauth_tokens (id, client_id, secret_hash, expires_at) VALUES (?, ?, ?, ?)",
            (record.id, record.client_id, record.secret_hash, record.expires_at),
        )
    return record, token


def get_token(conn: sqlite3.Connection, token_id: str) -> AccessToken | None:
    row = conn.execute(
        "SELECT id, client_id, secret_hash, expires_at FROM oauth_tokens WHERE id = ?",
        (token_id,),
    ).fetchone()
    if row is None:
        return None
    return AccessToken(id=row[0], client_id=row[1], secret_hash=bytes(row[2]), expires_at=row[3])
