"""Breakers shared through a real Redis: two `Routing` instances stand for two workers."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest

from palisade.config import Config, parse_config
from palisade.upstream.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from palisade.upstream.breaker_sync import KEY, TRIAL_PREFIX, BreakerSync
from palisade.upstream.groups import Routing
from palisade.upstream.routing import Router
from tests.helpers.redis_server import RedisServer
from tests.helpers.servers import free_port

INTERVAL_S = 0.1
COOLDOWN_S = 30.0
FLAKY, STEADY = "flaky:m", "steady:m"
_databases = itertools.count(1)


def config() -> Config:
    raw = {
        "auto_providers": False,
        "providers": {
            "flaky": {"base_url": "http://127.0.0.1:9/v1", "api_key": "k"},
            "steady": {"base_url": "http://127.0.0.1:9/v1", "api_key": "k"},
        },
        "models": {"m": {"deployments": [{"provider": "flaky"}, {"provider": "steady"}]}},
        "routing": {
            "breaker": {
                "consecutive_failures": 2,
                "cooldown_s": COOLDOWN_S,
                "sync_interval_s": INTERVAL_S,
            }
        },
    }
    return parse_config(raw, source="test", env={})


class Worker:
    def __init__(self, url: str, timeout_s: float = 1.0) -> None:
        cfg = config()
        self.routing = Routing(cfg, Router(cfg.providers))
        self.gauge: dict[str, float] = {}
        self.sync = BreakerSync(self.routing, gauge=self._gauge, redis_url=url, timeout_s=timeout_s)

    def _gauge(self, deployment: str) -> Callable[[float], None]:
        return lambda value: self.gauge.__setitem__(deployment, value)

    def breaker(self, deployment: str = FLAKY) -> Breaker:
        breaker = self.routing.deployments[deployment].breaker
        assert breaker is not None
        return breaker

    def fail(self, times: int, deployment: str = FLAKY) -> None:
        """What the attempt loop does for calls that failed."""
        d = self.routing.deployments[deployment]
        for _ in range(times):
            now = time.time()
            assert d.usable(now)
            d.start(now)
            d.failed(now, counts=True)
            d.ended(0)


@pytest.fixture
async def pair(redis: RedisServer) -> AsyncIterator[tuple[Worker, Worker]]:
    url = f"redis://127.0.0.1:{redis.port}/{next(_databases)}"
    a, b = Worker(url), Worker(url)
    a.sync.start()
    b.sync.start()
    yield a, b
    await a.sync.stop()
    await b.sync.stop()


async def until(check: Callable[[], bool], within: float = 3.0) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, "not within the time"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_an_opening_reaches_the_other_worker_within_the_interval(
    pair: tuple[Worker, Worker],
) -> None:
    a, b = pair
    assert a.gauge == b.gauge == {FLAKY: CLOSED, STEADY: CLOSED}
    a.fail(2)
    assert a.breaker().state == OPEN
    assert a.gauge[FLAKY] == OPEN
    took = await until(lambda: b.breaker().state == OPEN)
    assert took < 2 * INTERVAL_S + 0.2
    now = time.time()
    assert b.breaker().open_until == pytest.approx(a.breaker().open_until, abs=0.002)
    assert not b.routing.deployments[FLAKY].usable(now)
    assert b.routing.deployments[STEADY].usable(now)
    assert b.gauge[FLAKY] == OPEN
    # The group skips it on both workers.
    for worker in (a, b):
        group = worker.routing.group("m")
        assert {group.pick(now, False, ()).id for _ in range(50)} == {STEADY}  # type: ignore[union-attr]


async def test_a_closing_reaches_the_other_worker(pair: tuple[Worker, Worker]) -> None:
    a, b = pair
    a.fail(2)
    await until(lambda: b.breaker().state == OPEN)
    # A's trial (its cooldown over) succeeds: B is closed too, before its own cooldown ends.
    trial = a.breaker().open_until
    a.breaker().admit(trial)
    assert a.breaker().state == HALF_OPEN
    a.breaker().success(trial)
    assert a.breaker().state == CLOSED
    await until(lambda: b.breaker().state == CLOSED)
    assert b.gauge[FLAKY] == CLOSED
    assert b.routing.deployments[FLAKY].usable(time.time())


async def test_entries_are_written_newest_wins_and_expire(
    pair: tuple[Worker, Worker], redis: RedisServer
) -> None:
    a, b = pair
    a.fail(2)
    await until(lambda: b.breaker().state == OPEN)
    db = a.sync._client
    assert db is not None
    value = await db.call([b"HGET", KEY, FLAKY])
    assert isinstance(value, bytes)
    state, until_ms, at_ms, expires_ms = map(int, value.split(b","))
    assert state == OPEN
    assert until_ms == expires_ms == int(a.breaker().open_until * 1000)
    assert at_ms <= time.time() * 1000
    # The hash lives no longer than its last entry.
    ttl = await db.call([b"PTTL", KEY])
    assert isinstance(ttl, int)
    assert 0 < ttl <= COOLDOWN_S * 1000
    # A late write of an older decision does not undo the newer one.
    stale = f"{CLOSED},0,{at_ms - 1},{expires_ms}"
    a.sync._unsent[FLAKY] = stale
    assert await a.sync.sync(claims=False)
    assert await db.call([b"HGET", KEY, FLAKY]) == value
    # An opening whose time has passed is dropped, and applies to nobody.
    past = int(time.time() * 1000) - 1
    a.sync._unsent[STEADY] = f"{OPEN},{past},{at_ms + 5},{past}"
    assert await a.sync.sync(claims=False)
    assert await db.call([b"HEXISTS", KEY, STEADY]) == 0
    assert b.breaker(STEADY).state == CLOSED


async def test_only_one_worker_gets_the_half_open_trial(pair: tuple[Worker, Worker]) -> None:
    a, b = pair
    a.fail(2)
    await until(lambda: b.breaker().state == OPEN)
    # Both cooldowns about to end: each worker's next read claims the trial.
    soon = time.time() + INTERVAL_S / 2
    for worker in (a, b):
        worker.breaker().open_until = soon
    await asyncio.sleep(0.35)
    now = time.time()
    assert now > soon
    usable = [w for w in (a, b) if w.routing.deployments[FLAKY].usable(now)]
    assert len(usable) == 1
    winner, loser = usable[0], ({a, b} - set(usable)).pop()
    assert loser.breaker().open_until > now + INTERVAL_S
    db = a.sync._client
    assert db is not None
    assert await db.call([b"GET", TRIAL_PREFIX + FLAKY]) == winner.sync.token.encode()
    # The winner's trial fails: its new opening reaches the loser.
    d = winner.routing.deployments[FLAKY]
    d.start(now)
    assert winner.breaker().state == HALF_OPEN
    d.failed(now, counts=True)
    reopened = winner.breaker().open_until
    assert reopened == pytest.approx(now + COOLDOWN_S)
    await until(lambda: abs(loser.breaker().open_until - reopened) < 0.002)
    assert loser.breaker().state == OPEN


async def test_a_lost_claim_does_not_reopen_a_breaker_the_trial_just_closed(
    pair: tuple[Worker, Worker],
) -> None:
    a, b = pair
    await a.sync.stop()  # A's part is played by hand here
    await b.sync.stop()
    a.fail(2)
    assert await a.sync.sync(claims=False)
    assert await b.sync.sync(claims=False)
    assert b.breaker().state == OPEN
    for worker in (a, b):
        worker.breaker().open_until = time.time() + INTERVAL_S / 2
    assert await a.sync.sync()  # A holds the trial
    trial = time.time()
    a.breaker().admit(trial)
    a.breaker().success(trial)
    assert await a.sync.sync(claims=False)  # its verdict written
    # B claims in the same call that reads the verdict: the lease is A's, but the breaker is
    # closed, and stays so.
    assert await b.sync.sync()
    assert b.breaker().state == CLOSED
    assert b.routing.deployments[FLAKY].usable(time.time())


async def test_redis_down_fails_nothing_and_keeps_local_state(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = RedisServer()
    server.start()
    try:
        a, b = Worker(server.url, 0.2), Worker(server.url, 0.2)
        a.sync.start()
        b.sync.start()
        server.kill()
        with caplog.at_level(logging.WARNING, logger="palisade.breakers"):
            a.fail(2)  # the hook schedules a write that fails: nothing raises here
            assert a.breaker().state == OPEN
            await asyncio.sleep(6 * INTERVAL_S)
        warnings = [r for r in caplog.records if r.name == "palisade.breakers"]
        assert len(warnings) == 2  # once per worker, not per round
        assert "Redis unavailable" in warnings[0].getMessage()
        assert a.breaker().state == OPEN  # its own state kept
        assert b.breaker().state == CLOSED  # which nobody could tell it
        assert a.sync._task is not None
        assert not a.sync._task.done()
        assert b.sync._task is not None
        assert not b.sync._task.done()
        # Redis back (same port): the unsent opening goes out and reaches B.
        again = RedisServer(server.port)
        again.start()
        server = again
        with caplog.at_level(logging.INFO, logger="palisade.breakers"):
            await until(lambda: b.breaker().state == OPEN, within=5.0)
        assert any("Redis is back" in r.getMessage() for r in caplog.records)
        await a.sync.stop()
        await b.sync.stop()
    finally:
        server.kill()


async def test_a_hung_redis_does_not_hold_the_sync_longer_than_its_timeout() -> None:
    server = RedisServer()
    server.start()
    try:
        worker = Worker(server.url, 0.2)
        assert await worker.sync.sync()
        server.pause()
        started = time.monotonic()
        assert not await worker.sync.sync()
        assert time.monotonic() - started < 0.5
        server.resume()
        assert await until_async(worker.sync.sync)
        await worker.sync.stop()
    finally:
        server.resume()
        server.kill()


async def until_async(check: Callable[[], object], within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():  # type: ignore[misc]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_without_redis_only_the_gauge_is_kept() -> None:
    cfg = config()
    routing = Routing(cfg, Router(cfg.providers))
    values: dict[str, float] = {}
    sync = BreakerSync(routing, gauge=lambda d: lambda v: values.__setitem__(d, v))
    sync.start()
    assert not sync.shared
    assert sync._task is None
    deployment = routing.deployments[FLAKY]
    for _ in range(2):
        deployment.start(time.time())
        deployment.failed(time.time(), counts=True)
    assert values[FLAKY] == OPEN
    assert not sync._unsent
    await sync.stop()


def test_a_direct_model_has_no_breaker_to_share() -> None:
    cfg = config()
    routing = Routing(cfg, Router(cfg.providers))
    sync = BreakerSync(routing, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert set(sync.breakers) == {FLAKY, STEADY}
    assert routing.group("flaky:other").deployments[0].breaker is None
