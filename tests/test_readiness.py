"""`/ready`'s checks: the registry, each store's probe, and the route in process."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import parse_config
from palisade.readiness import NotReady, ReadyCheck, run_checks, sqlite_writable
from palisade.store.redis import RedisStore
from tests.helpers.redis_server import RedisServer, redis_server


def test_sqlite_writable_takes_the_write_lock_and_keeps_nothing(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    sqlite_writable(str(db), 0.5)
    tables = sqlite3.connect(db).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("t",)]


def test_sqlite_missing_file_is_not_ready_and_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "gone.db"
    with pytest.raises(sqlite3.OperationalError):
        sqlite_writable(str(db), 0.5)
    assert not db.exists()


def test_sqlite_locked_by_a_writer_is_not_ready_after_the_timeout(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            sqlite_writable(str(db), 0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    sqlite_writable(str(db), 0.2)


async def test_checks_run_together_each_with_its_timeout() -> None:
    started = threading.Event()

    async def fine() -> None:
        started.set()

    async def hangs() -> None:
        await asyncio.sleep(10)

    async def fails() -> None:
        raise NotReady("down")

    async def leaks() -> None:
        raise RuntimeError("redis://user:hunter2@host")

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    outcomes = await run_checks(
        [
            ReadyCheck("fine", fine),
            ReadyCheck("hangs", hangs, timeout_s=0.2),
            ReadyCheck("fails", fails),
            ReadyCheck("leaks", leaks),
        ]
    )
    assert loop.time() - t0 < 1.0
    assert outcomes == {
        "fine": "ok",
        "hangs": "timeout after 0.2 s",
        "fails": "NotReady: down",
        # An exception of unknown kind is named, its message (which might hold a URL) is not.
        "leaks": "RuntimeError",
    }


async def test_redis_ping_is_the_redis_check() -> None:
    with redis_server() as redis:
        store = RedisStore(redis.url, 0.2)
        await store.ping()
        redis.kill()
        with pytest.raises(ConnectionError, match="Redis"):
            await store.ping()
        await store.close()


def app_client(tmp_path: Path, **sections: Any) -> TestClient:
    db = tmp_path / "palisade.db"
    raw: dict[str, Any] = {
        "store": {"sqlite_path": str(db)},
        "auto_providers": False,
        "providers": {"mock": {"base_url": "http://127.0.0.1:9/v1", "models": ["mock-*"]}},
        **sections,
    }
    return TestClient(create_app(parse_config(raw, source="test", env={})))


def test_ready_runs_the_registry_and_turns_503_when_a_check_fails(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {"upstream_pool": "ok", "sqlite": "ok"},
        }
        gateway = client.app.state.gateway  # type: ignore[attr-defined]

        async def deployments() -> None:
            raise NotReady("deployments not loaded")

        gateway.ready_checks.append(ReadyCheck("deployments", deployments))
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert ready.json()["checks"]["deployments"] == "NotReady: deployments not loaded"
        # Liveness runs no check.
        assert client.get("/health").status_code == 200


def test_ready_checks_redis_when_configured(tmp_path: Path) -> None:
    redis = RedisServer()
    redis.start()
    try:
        store = {"sqlite_path": str(tmp_path / "palisade.db"), "redis_url": redis.url}
        with app_client(tmp_path, store=store) as client:
            assert client.get("/ready").json()["checks"] == {
                "upstream_pool": "ok",
                "sqlite": "ok",
                "redis": "ok",
            }
            redis.kill()
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["redis"] != "ok"
            redis.start()  # the same port again: the gateway reconnects on its own
            assert client.get("/ready").status_code == 200
    finally:
        redis.kill()


def test_ready_is_503_while_draining(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        gateway = client.app.state.gateway  # type: ignore[attr-defined]
        assert gateway.shutdown is not None
        gateway.shutdown.announce()
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "draining"
