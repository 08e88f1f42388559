"""One worker's memory of virtual keys, OAuth clients and access tokens.

A lookup that hits is a dict read (no I/O, no thread hop); a miss loads the record through the
store's thread and remembers it, absent records too. `apply` takes the rows another process
changed (the sync loop reads them), so a revocation reaches every worker within one poll.
A record is only ever replaced by a newer one (higher `changed`), so a slow miss that read
before a revocation cannot overwrite it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol, TypeVar

from palisade.store import clients, keys
from palisade.store.clients import AccessToken, Client
from palisade.store.keys import VirtualKey
from palisade.store.sqlite import Database


class _Versioned(Protocol):
    @property
    def changed(self) -> int: ...


R = TypeVar("R", bound=_Versioned)

_MISSING = object()
# Beyond this, absent records are forgotten first, then everything (a flood of made-up ids
# must not grow memory without bound).
_MAX_ENTRIES = 200_000


class Directory:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.keys: dict[str, VirtualKey | None] = {}
        self.clients: dict[str, Client | None] = {}
        self.tokens: dict[str, AccessToken | None] = {}

    async def key(self, key_id: str) -> VirtualKey | None:
        found = self.keys.get(key_id, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        loaded = await self.db.run(lambda conn: keys.get(conn, key_id))
        return _remember(self.keys, key_id, loaded)

    async def client(self, client_id: str) -> Client | None:
        found = self.clients.get(client_id, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        loaded = await self.db.run(lambda conn: clients.get(conn, client_id))
        return _remember(self.clients, client_id, loaded)

    async def token(self, token_id: str) -> AccessToken | None:
        found = self.tokens.get(token_id, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        loaded = await self.db.run(lambda conn: clients.get_token(conn, token_id))
        if len(self.tokens) >= _MAX_ENTRIES:
            now = time.time()
            self.tokens = {
                k: t for k, t in self.tokens.items() if t is not None and t.expires_at > now
            }
        self.tokens[token_id] = loaded
        return loaded

    def apply(self, changed_keys: Iterable[VirtualKey], changed_clients: Iterable[Client]) -> None:
        for key in changed_keys:
            _remember(self.keys, key.id, key)
        for client in changed_clients:
            _remember(self.clients, client.id, client)
            if client.revoked_at is not None:
                self.tokens = {
                    k: t for k, t in self.tokens.items() if t is None or t.client_id != client.id
                }


def _remember(cache: dict[str, R | None], rid: str, record: R | None) -> R | None:
    old = cache.get(rid)
    if old is not None and (record is None or old.changed >= record.changed):
        return old
    if len(cache) >= _MAX_ENTRIES:
        kept = {k: v for k, v in cache.items() if v is not None}
        cache.clear()
        if len(kept) < _MAX_ENTRIES // 2:
            cache.update(kept)
    cache[rid] = record
    return record
