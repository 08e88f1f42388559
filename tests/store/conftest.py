from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.helpers.redis_server import RedisServer

from palisade.store.limits_store import LimitsStore
from palisade.store.memory import MemoryStore
from palisade.store.redis import RedisStore
from palisade.store.sqlite_spend import SpendLog


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LimitsStore]:
    backend: LimitsStore
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis")
        server.command("FLUSHALL")
        backend = RedisStore(server.url, timeout_s=1.0)
    else:
        memory = MemoryStore(SpendLog(str(tmp_path / "spend.db")))
        await memory.open()
        backend = memory
    yield backend
    await backend.close()
