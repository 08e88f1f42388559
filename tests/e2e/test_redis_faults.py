"""Redis stopped or hung mid-run: fail_open keeps serving, fail_closed refuses with a clear 503,
no request waits longer than the Redis timeout plus the provider's time, and everything
recovers when Redis is back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.limits_stack import gateway, mock_upstream
from tests.helpers.redis_server import RedisServer

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
REDIS_TIMEOUT_S = 0.2
UPSTREAM_S = 0.1
# A call may use the timeout twice (connect, then reply); the rest is scheduling slack on a
# busy 2-core machine. A hang would be the 30 s client timeout.
BOUND_S = 2 * REDIS_TIMEOUT_S + UPSTREAM_S + 1.0


class Faulty:
    def __init__(self, open_url: str, closed_url: str) -> None:
        self.open = openai.AsyncOpenAI(base_url=f"{open_url}/agents", api_key="c", max_retries=0)
        self.closed = openai.AsyncOpenAI(
            base_url=f"{closed_url}/agents", api_key="c", max_retries=0
        )

    async def call(self, client: openai.AsyncOpenAI, agent: str) -> tuple[Any, float]:
        started = time.monotonic()
        try:
            result: Any = await client.chat.completions.with_raw_response.create(
                model="mock-a",
                messages=MESSAGES,
                extra_headers={"X-Archestra-Agent-Id": agent},
                extra_body={"mock": {"latency_ms": UPSTREAM_S * 1000}},
            )
        except openai.APIStatusError as exc:
            result = exc
        return result, time.monotonic() - started


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[tuple[RedisServer, Faulty]]:
    redis = RedisServer()
    redis.start()
    try:
        with (
            mock_upstream() as mock,
            gateway(
                tmp_path,
                mock.url,
                redis_url=redis.url,
                workers=2,
                name="open.yaml",
                redis_timeout_s=REDIS_TIMEOUT_S,
            ) as op,
            gateway(
                tmp_path,
                mock.url,
                redis_url=redis.url,
                workers=1,
                name="closed.yaml",
                on_failure="fail_closed",
                redis_timeout_s=REDIS_TIMEOUT_S,
            ) as closed,
        ):
            yield redis, Faulty(op.url, closed.url)
    finally:
        redis.kill()


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + 15.0
    while not await check():
        assert time.monotonic() < deadline, "did not recover in time"
        await asyncio.sleep(0.1)


async def _assert_degraded(f: Faulty) -> None:
    for _ in range(5):
        results = await asyncio.gather(
            *(f.call(f.open, uuid.uuid4().hex) for _ in range(4)),
            *(f.call(f.closed, uuid.uuid4().hex) for _ in range(4)),
        )
        for _, elapsed in results:
            assert elapsed < BOUND_S
        for result, _ in results[:4]:
            assert not isinstance(result, openai.APIStatusError), result
            assert result.http_response.status_code == 200
            assert "x-ratelimit-remaining-requests" not in result.headers  # not checked
        for result, _ in results[4:]:
            assert isinstance(result, openai.APIStatusError)
            assert result.status_code == 503
            error = result.response.json()["error"]
            assert error["code"] == "limits_unavailable"
            assert "fail_closed" in error["message"]


async def _assert_limited_again(f: Faulty) -> None:
    for client in (f.open, f.closed):

        async def served(client: openai.AsyncOpenAI = client) -> bool:
            result, _ = await f.call(client, uuid.uuid4().hex)
            return not isinstance(result, openai.APIStatusError) and (
                result.headers.get("x-ratelimit-remaining-requests") == "2"
            )

        await _until(served)
        agent = uuid.uuid4().hex
        statuses = []
        for _ in range(4):
            result, _ = await f.call(client, agent)
            statuses.append(
                result.status_code if isinstance(result, openai.APIStatusError) else 200
            )
        assert statuses == [200, 200, 200, 429]


async def test_redis_killed_and_restarted(faulty: tuple[RedisServer, Faulty]) -> None:
    redis, f = faulty
    await _assert_limited_again(f)
    redis.kill()
    await _assert_degraded(f)
    redis.start()
    await _assert_limited_again(f)


async def test_redis_hung_and_resumed(faulty: tuple[RedisServer, Faulty]) -> None:
    redis, f = faulty
    await _assert_limited_again(f)
    redis.pause()
    try:
        await _assert_degraded(f)
    finally:
        redis.resume()
    await _assert_limited_again(f)
