from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from palisade.store.limits_store import LimitsStore
from palisade.store.memory import MemoryStore
from palisade.store.redis import RedisStore
from palisade.store.sqlite_spend import SpendLog
from tests.helpers.redis_server import RedisServer, redis_server
from tests.helpers.servers import free_port, start_process_server


@pytest.fixture(scope="module")
def mock_port() -> Iterator[int]:
    """A `palisade mock-upstream` of the test module's own (the in-process app tests)."""
    port = free_port()
    argv = [sys.executable, "-m", "palisade.cli", "mock-upstream", "--port", str(port)]
    with start_process_server(argv, port):
        yield port


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    """One real redis-server for the session; tests that kill Redis start their own."""
    with redis_server() as server:
        yield server


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LimitsStore]:
    """Each limits-store backend in turn: the same behavioural tests run against both."""
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
