from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from palisade.identity.directory import Directory
from palisade.identity.runtime import SCHEMAS
from palisade.store import keys
from palisade.store.sqlite import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(str(tmp_path / "t.db"), SCHEMAS)
    yield database
    await database.close()


async def test_a_miss_loads_once_then_hits_memory(db: Database) -> None:
    key, _ = await db.run(lambda c: keys.create(c, proxy_id="p", name="a"))
    directory = Directory(db)
    assert await directory.key(key.id) == key
    await db.run(lambda c: c.execute("DELETE FROM virtual_keys"))
    assert await directory.key(key.id) == key  # from memory: the store is not asked again
    assert await directory.key("000000000000") is None
    assert directory.keys["000000000000"] is None  # absent records are remembered too


async def test_only_newer_records_replace_cached_ones(db: Database) -> None:
    key, _ = await db.run(lambda c: keys.create(c, proxy_id="p", name="a"))
    directory = Directory(db)
    revoked = await db.run(lambda c: keys.revoke(c, key.id))
    assert revoked is not None
    directory.apply([revoked], [])
    # A slow miss that read the key before it was revoked cannot bring it back.
    directory.apply([key], [])
    assert directory.keys[key.id] == revoked
    # A key whose id was remembered as absent (a lookup raced its creation) appears once the
    # sync applies its creation.
    fresh, _ = await db.run(lambda c: keys.create(c, proxy_id="p", name="b"))
    directory.keys[fresh.id] = None
    directory.apply([fresh], [])
    assert directory.keys[fresh.id] == fresh
