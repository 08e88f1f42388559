"""Idempotency keys end to end: concurrent duplicates across two workers run once."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.limits_stack import LimitsStack, gateway, mock_upstream
from tests.e2e.test_limits import limits_stack  # noqa: F401  (the module-scoped stacks)
from tests.helpers.redis_server import RedisServer

MESSAGES: list[Any] = [{"role": "user", "content": "Tell me a story."}]
REPLAY = "x-palisade-idempotent-replay"


def new_key() -> str:
    return uuid.uuid4().hex


async def _duplicates(
    stack: LimitsStack, key: str, n: int, *, stream: bool, header: str = "Idempotency-Key"
) -> list[tuple[int, bytes, str | None, str]]:
    async with stack.client() as client:

        async def one() -> tuple[int, bytes, str | None, str]:
            raw = await client.chat.completions.with_raw_response.create(
                model="mock-a",
                messages=MESSAGES,
                stream=stream,
                extra_headers={header: key},
                extra_body={"mock": {"latency_ms": 300, "chunks": 5}},
            )
            body = await raw.http_response.aread()
            return (
                raw.http_response.status_code,
                body,
                raw.headers.get(REPLAY),
                raw.headers["content-type"],
            )

        return await asyncio.gather(*(one() for _ in range(n)))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_fifty_concurrent_duplicates_cause_one_upstream_call(
    limits_stack: LimitsStack,  # noqa: F811
    stream: bool,
) -> None:
    limits_stack.clear_mock()
    key = new_key()
    results = await _duplicates(limits_stack, key, 50, stream=stream)
    assert limits_stack.upstream_calls() == 1
    if limits_stack.redis is not None:
        assert limits_stack.workers_on_redis() == 2  # duplicates reached both workers
    assert {status for status, *_ in results} == {200}
    assert len({body for _, body, *_ in results}) == 1
    assert [replay for *_, replay, _ in results].count("true") == 49
    expected_type = "text/event-stream" if stream else "application/json"
    assert all(ctype.startswith(expected_type) for *_, ctype in results)
    if stream:
        assert results[0][1].rstrip().endswith(b"data: [DONE]")
    # Later, within the TTL: the stored answer, marked as a replay; still one upstream call.
    (later,) = await _duplicates(limits_stack, key, 1, stream=stream, header="X-Idempotency-Key")
    assert later[1] == results[0][1]
    assert later[2] == "true"
    assert limits_stack.upstream_calls() == 1


async def test_same_key_with_another_body_is_422(limits_stack: LimitsStack) -> None:  # noqa: F811
    key = new_key()
    async with limits_stack.client() as client:
        await client.chat.completions.create(
            model="mock-a", messages=MESSAGES, extra_headers={"Idempotency-Key": key}
        )
        with pytest.raises(openai.UnprocessableEntityError) as info:
            await client.chat.completions.create(
                model="mock-b", messages=MESSAGES, extra_headers={"Idempotency-Key": key}
            )
    error = info.value.response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["message"].startswith("Palisade: ")


async def test_errors_are_not_stored(limits_stack: LimitsStack) -> None:  # noqa: F811
    limits_stack.clear_mock()
    key = new_key()
    async with limits_stack.client() as client:
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                await client.chat.completions.create(
                    model="mock-a",
                    messages=MESSAGES,
                    extra_headers={"Idempotency-Key": key},
                    extra_body={"mock": {"fail": "500"}},
                )
    assert limits_stack.upstream_calls() == 2


async def test_keys_are_scoped_per_proxy(limits_stack: LimitsStack) -> None:  # noqa: F811
    limits_stack.clear_mock()
    key = new_key()
    for proxy in ("default", "budget"):
        async with limits_stack.client(proxy) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model="mock-a", messages=MESSAGES, extra_headers={"Idempotency-Key": key}
            )
            assert raw.headers.get(REPLAY) is None
    assert limits_stack.upstream_calls() == 2


async def test_an_overlong_key_is_refused(limits_stack: LimitsStack) -> None:  # noqa: F811
    async with limits_stack.client() as client:
        with pytest.raises(openai.BadRequestError) as info:
            await client.chat.completions.create(
                model="mock-a", messages=MESSAGES, extra_headers={"Idempotency-Key": "k" * 300}
            )
    assert info.value.response.json()["error"]["code"] == "invalid_idempotency_key"


async def test_a_dead_executors_lock_expires_and_a_waiter_takes_over(
    tmp_path: Path, redis: RedisServer
) -> None:
    """Two gateways on one Redis: the first executor's process is killed mid-call; the
    duplicate sent to the other waits for the lock to expire (dedup.lock_ttl_s: 1) and runs."""
    key = new_key()
    body: dict[str, Any] = {
        "model": "mock-a",
        "messages": MESSAGES,
        "extra_headers": {"Idempotency-Key": key},
        "extra_body": {"mock": {"latency_ms": 2000}},
    }
    with (
        mock_upstream() as mock,
        gateway(tmp_path, mock.url, redis_url=redis.url, workers=1, name="a.yaml") as first,
        gateway(tmp_path, mock.url, redis_url=redis.url, workers=1, name="b.yaml") as second,
    ):
        stack = LimitsStack(gateway=first.url, mock=mock.url, backend="redis")
        stack.clear_mock()
        async with (
            openai.AsyncOpenAI(base_url=f"{first.url}/v1", api_key="c", max_retries=0) as a,
            openai.AsyncOpenAI(base_url=f"{second.url}/v1", api_key="c", max_retries=0) as b,
        ):
            doomed = asyncio.create_task(a.chat.completions.create(**body))
            while stack.upstream_calls() == 0:  # noqa: ASYNC110 (another process's state)
                await asyncio.sleep(0.02)
            os.killpg(first.process.pid, signal.SIGKILL)
            with pytest.raises(openai.APIConnectionError):
                await doomed
            raw = await b.chat.completions.with_raw_response.create(**body)
        assert raw.http_response.status_code == 200
        assert raw.headers.get(REPLAY) is None
        assert stack.upstream_calls() == 2


async def test_duplicates_count_once_against_the_limits(
    limits_stack: LimitsStack,  # noqa: F811
) -> None:
    limits_stack.clear_mock()
    headers = {"X-Archestra-Agent-Id": new_key(), "Idempotency-Key": new_key()}
    async with limits_stack.client("agents") as client:

        async def one() -> dict[str, str]:
            raw = await client.chat.completions.with_raw_response.create(
                model="mock-a",
                messages=MESSAGES,
                extra_headers=headers,
                extra_body={"mock": {"latency_ms": 200}},
            )
            return dict(raw.headers)

        answers = await asyncio.gather(*(one() for _ in range(5)))
        first = [a for a in answers if REPLAY not in a]
        assert len(first) == 1
        assert first[0]["x-ratelimit-remaining-requests"] == "2"  # per-agent rpm 3
        other = await client.chat.completions.with_raw_response.create(
            model="mock-a",
            messages=MESSAGES,
            extra_headers={"X-Archestra-Agent-Id": headers["X-Archestra-Agent-Id"]},
        )
    assert other.headers["x-ratelimit-remaining-requests"] == "1"
    assert limits_stack.upstream_calls() == 2
