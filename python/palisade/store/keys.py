"""Virtual API keys in SQLite: only the SHA-256 of the secret is kept (see
identity/credentials.py), with the proxy the key belongs to, its providers, expiry, revocation
and its own limits. Every change bumps the `keys` counter, which the workers poll."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from palisade.identity.credentials import VIRTUAL_KEY, issue
from palisade.store.sqlite import bump, iso, revoke_row, transaction

TOPIC = "keys"

SCHEMA = """
CREATE TABLE IF NOT EXISTS virtual_keys (
    id TEXT PRIMARY KEY,
    proxy_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    revoked_at REAL,
    user_id TEXT,
    providers TEXT NOT NULL DEFAULT '[]',
    limits TEXT NOT NULL DEFAULT '{}',
    changed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS virtual_keys_changed ON virtual_keys (changed);
"""

_COLUMNS = (
    "id, proxy_id, name, secret_hash, created_at, expires_at, revoked_at, user_id, providers, "
    "limits, changed"
)


@dataclass(frozen=True, slots=True)
class VirtualKey:
    id: str
    proxy_id: str
    name: str
    secret_hash: bytes = field(repr=False)
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    user_id: str | None = None
    # Providers whose credentials the key may use; empty: those its proxy may reach.
    providers: tuple[str, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)
    changed: int = 0

    def public(self) -> dict[str, Any]:
        """What listings show: everything but the hash."""
        return {
            "id": self.id,
            "proxy": self.proxy_id,
            "name": self.name,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "user": self.user_id,
            "providers": list(self.providers),
            "limits": self.limits,
        }


def _row(row: tuple[Any, ...]) -> VirtualKey:
    return VirtualKey(
        id=row[0],
        proxy_id=row[1],
        name=row[2],
        secret_hash=bytes(row[3]),
        created_at=row[4],
        expires_at=row[5],
        revoked_at=row[6],
        user_id=row[7],
        providers=tuple(orjson.loads(row[8])),
        limits=orjson.loads(row[9]),
        changed=row[10],
    )


LIMIT_KEYS = ("rpm", "tpm", "budget_usd", "budget_period")
_PERIODS = ("day", "month")


def parse_limits(raw: dict[str, Any]) -> dict[str, Any]:
    """A key's own limits, checked: `rpm`, `tpm` (whole numbers > 0), `budget_usd` (> 0) and
    `budget_period` (day, month; default month when a budget is set). None values are left
    out. Raises ValueError naming the field."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if name not in LIMIT_KEYS:
            raise ValueError(f"unknown limit `{name}` (known: {', '.join(LIMIT_KEYS)})")
        if name in ("rpm", "tpm"):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"`{name}` must be a whole number greater than 0")
        elif name == "budget_usd":
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError("`budget_usd` must be a number greater than 0")
            value = float(value)
        elif value not in _PERIODS:
            raise ValueError(f"`budget_period` must be one of {', '.join(_PERIODS)}")
        out[name] = value
    if "budget_period" in out and "budget_usd" not in out:
        raise ValueError("`budget_period` needs `budget_usd`")
    if "budget_usd" in out:
        out.setdefault("budget_period", "month")
    return out


_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_expiry(text: str, now: float | None = None) -> float:
    """`30d`, `12h`, `90m`, `2w` from now, or an ISO 8601 date / date-time (UTC unless it
    says otherwise). Raises ValueError; the moment must lie in the future."""
    now = time.time() if now is None else now
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        at = now + int(m.group(1)) * _UNIT_S[m.group(2)]
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "an expiry is a duration (`30d`, `12h`, `90m`) or an ISO date (`2027-01-31`)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        at = moment.timestamp()
    if at <= now:
        raise ValueError("the expiry lies in the past")
    return at


def create(
    conn: sqlite3.Connection,
    *,
    proxy_id: str,
    name: str,
    expires_at: float | None = None,
    user_id: str | None = None,
    providers: tuple[str, ...] = (),
    limits: dict[str, Any] | None = None,
) -> tuple[VirtualKey, str]:
    """A new key and its token, which is shown once and never stored."""
    key_id, token, secret_hash = issue(VIRTUAL_KEY)
    with transaction(conn):
        seq = bump(conn, TOPIC)
        key = VirtualKey(
            id=key_id,
            proxy_id=proxy_id,
            name=name,
            secret_hash=secret_hash,
            created_at=time.time(),
            expires_at=expires_at,
            user_id=user_id,
            providers=providers,
            limits=parse_limits(limits or {}),
            changed=seq,
        )
        conn.execute(
            f"INSERT INTO virtual_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                key.id,
                key.proxy_id,
                key.name,
                key.secret_hash,
                key.created_at,
                key.expires_at,
                key.revoked_at,
                key.user_id,
                orjson.dumps(list(key.providers)).decode(),
                orjson.dumps(key.limits).decode(),
                key.changed,
            ),
        )
    return key, token


def get(conn: sqlite3.Connection, key_id: str) -> VirtualKey | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM virtual_keys WHERE id = ?",  # noqa: S608
        (key_id,),
    ).fetchone()
    return None if row is None else _row(row)


def listing(conn: sqlite3.Connection, proxy_id: str | None = None) -> list[VirtualKey]:
    where, args = ("WHERE proxy_id = ?", (proxy_id,)) if proxy_id else ("", ())
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM virtual_keys {where} ORDER BY created_at",  # noqa: S608
        args,
    )
    return [_row(r) for r in rows]


def changed_since(conn: sqlite3.Connection, seq: int) -> list[VirtualKey]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM virtual_keys WHERE changed > ?",  # noqa: S608
        (seq,),
    )
    return [_row(r) for r in rows]


def revoke(conn: sqlite3.Connection, key_id: str) -> VirtualKey | None:
    """Marks the key revoked (kept for the record); None when there is no such key. Revoking
    twice keeps the first time."""
    return get(conn, key_id) if revoke_row(conn, "virtual_keys", TOPIC, key_id) else None
