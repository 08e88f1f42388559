"""Stage 3 end to end: real Granian gateways, the Redis backend with two workers and the
in-process backend with one, the official SDK as the client, the mock as the provider."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.e2e.limits_stack import LimitsStack, gateway, mock_upstream
from tests.helpers.redis_server import RedisServer

MESSAGES: list[Any] = [{"role": "user", "content": "Say something short."}]


@pytest.fixture(scope="module", params=["memory", "redis"])
def limits_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LimitsStack]:
    tmp = tmp_path_factory.mktemp(f"limits-{request.param}")
    server: RedisServer | None = None
    if request.param == "redis":
        server = request.getfixturevalue("redis")
        server.command("FLUSHALL")
    redis_url = server.url if server else None
    with (
        mock_upstream() as mock,
        gateway(tmp, mock.url, redis_url=redis_url, workers=2 if redis_url else 1) as gw,
    ):
        yield LimitsStack(gateway=gw.url, mock=mock.url, backend=request.param, redis=server)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


async def _crowd(client: openai.AsyncOpenAI) -> list[openai.RateLimitError | None]:
    """16 concurrent requests of one new agent against its window of 10."""
    headers = {"X-Palisade-Agent-Id": new_id()}

    async def one() -> openai.RateLimitError | None:
        try:
            await client.chat.completions.create(
                model="mock-a",
                messages=MESSAGES,
                extra_headers=headers,
                extra_body={"mock": {"latency_ms": 50}},
            )
        except openai.RateLimitError as exc:
            return exc
        return None

    return await asyncio.gather(*(one() for _ in range(16)))


async def test_n_plus_k_concurrent_requests_yield_exactly_n(limits_stack: LimitsStack) -> None:
    # The kernel, not the test, picks the worker of each connection: a round may land on one
    # worker only. On Redis, rounds (each with a fresh window) go on until both workers have
    # admitted requests, so that exactness is shown across workers.
    rounds = 1 if limits_stack.redis is None else 12
    async with limits_stack.client("crowd") as client:
        for _ in range(rounds):
            outcomes = await _crowd(client)
            refused = [o for o in outcomes if o is not None]
            assert len(outcomes) - len(refused) == 10, [str(exc) for exc in refused]
            assert len(refused) == 6
            if limits_stack.redis is not None and limits_stack.workers_on_redis() == 2:
                break
    if limits_stack.redis is not None:
        # Each worker keeps one Redis connection.
        assert limits_stack.workers_on_redis() == 2, limits_stack.redis.command("CLIENT", "LIST")
    for exc in refused:
        assert exc is not None
        error = exc.response.json()["error"]
        assert error["code"] == "rate_limit_exceeded"
        assert "crowd-rpm" in error["message"]
        assert "scope: proxy" in error["message"]
        assert int(exc.response.headers["retry-after"]) >= 1
        assert exc.response.headers["x-ratelimit-remaining-requests"] == "0"


async def test_request_headers_count_down_on_every_response(limits_stack: LimitsStack) -> None:
    agent = new_id()
    headers = {"X-Archestra-Agent-Id": agent}
    async with limits_stack.client("agents") as client:
        first = await client.chat.completions.with_raw_response.create(
            model="mock-a", messages=MESSAGES, extra_headers=headers
        )
        assert first.headers["x-ratelimit-limit-requests"] == "3"
        assert first.headers["x-ratelimit-remaining-requests"] == "2"
        assert first.headers["x-ratelimit-reset-requests"].endswith("s")
        stream = await client.chat.completions.with_raw_response.create(
            model="mock-a", messages=MESSAGES, extra_headers=headers, stream=True
        )
        assert stream.headers["x-ratelimit-remaining-requests"] == "1"
        chunks = [c async for c in stream.parse()]
        assert chunks
        # An upstream error passes through unchanged, with the headers added.
        with pytest.raises(openai.InternalServerError) as failed:
            await client.chat.completions.create(
                model="mock-a",
                messages=MESSAGES,
                extra_headers=headers,
                extra_body={"mock": {"fail": "500"}},
            )
        assert failed.value.response.headers["x-ratelimit-remaining-requests"] == "0"
        with pytest.raises(openai.RateLimitError) as limited:
            await client.chat.completions.create(
                model="mock-a", messages=MESSAGES, extra_headers=headers
            )
        response = limited.value.response
        assert response.headers["x-ratelimit-remaining-requests"] == "0"
        assert response.headers["x-palisade-error"] == "rate_limit_exceeded"
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert "per-agent" in response.json()["error"]["message"]
        assert response.json()["error"]["type"] == "requests"
        # Another agent has its own window; a request without an agent id has none.
        other = await client.chat.completions.with_raw_response.create(
            model="mock-a", messages=MESSAGES, extra_headers={"X-Palisade-Agent-Id": new_id()}
        )
        assert other.headers["x-ratelimit-remaining-requests"] == "2"
        anonymous = await client.chat.completions.with_raw_response.create(
            model="mock-a", messages=MESSAGES
        )
        assert "x-ratelimit-remaining-requests" not in anonymous.headers


async def test_gateway_errors_after_the_check_carry_the_headers(
    limits_stack: LimitsStack,
) -> None:
    headers = {"X-Archestra-Agent-Id": new_id()}
    async with limits_stack.client("guarded") as client:
        with pytest.raises(openai.BadRequestError) as blocked:
            await client.chat.completions.create(
                model="mock-a",
                messages=[{"role": "user", "content": "key sk-proj-" + "a1B2" * 12}],
                extra_headers=headers,
            )
    assert blocked.value.response.headers["x-ratelimit-remaining-requests"] == "2"


async def test_tpm_reservation_and_settlement_are_exact(limits_stack: LimitsStack) -> None:
    headers = {"X-Archestra-User-Id": new_id()}
    body: dict[str, Any] = {"model": "mock-a", "messages": MESSAGES, "max_tokens": 40}
    async with limits_stack.client("tokens") as client:

        async def call(**extra: Any) -> tuple[int, int, int]:
            """(limit, remaining tokens, total tokens used) of one call."""
            raw = await client.chat.completions.with_raw_response.create(
                **body, **extra, extra_headers=headers
            )
            if extra.get("stream"):
                usages = [c.usage async for c in raw.parse() if c.usage]
                usage = usages[-1] if usages else None
            else:
                usage = raw.parse().usage
            return (
                int(raw.headers["x-ratelimit-limit-tokens"]),
                int(raw.headers["x-ratelimit-remaining-tokens"]),
                usage.total_tokens if usage else 0,
            )

        limit, remaining1, used1 = await call()
        assert limit == 400  # the tighter of the two windows is reported
        reserve = limit - remaining1  # the prompt's counted tokens + max_tokens
        assert reserve > 40
        _, remaining2, used2 = await call()
        assert remaining2 == limit - used1 - reserve
        stream_opts = {"stream": True, "stream_options": {"include_usage": True}}
        _, remaining3, used3 = await call(**stream_opts)
        assert remaining3 == limit - used1 - used2 - reserve
        _, remaining4, _ = await call()
        assert remaining4 == limit - used1 - used2 - used3 - reserve
        # A stream whose usage the gateway asked for on its own is settled the same way.
        _, remaining5, hidden = await call(stream=True)
        assert hidden == 0  # the client did not ask for usage and sees none
        _, remaining6, _ = await call()
        assert remaining6 == remaining5 - used3  # the same stream, so the same usage


async def test_tpm_refuses_when_the_reservation_does_not_fit(limits_stack: LimitsStack) -> None:
    headers = {"X-Archestra-User-Id": new_id()}
    async with limits_stack.client("tokens") as client:
        await client.chat.completions.create(
            model="mock-a", messages=MESSAGES, max_tokens=300, extra_headers=headers
        )
        with pytest.raises(openai.RateLimitError) as info:
            await client.chat.completions.create(
                model="mock-a", messages=MESSAGES, max_tokens=390, extra_headers=headers
            )
    error = info.value.response.json()["error"]
    assert error["type"] == "tokens"
    assert "user-tokens-small" in error["message"]
    assert "scope: proxy, user" in error["message"]


@pytest.mark.parametrize("limits_stack", ["redis"], indirect=True)
async def test_a_stream_the_client_leaves_keeps_only_its_prompt_charged(
    limits_stack: LimitsStack,
) -> None:
    """The client closes a stream before its usage arrives: the gateway settles the
    reservation down to the counted prompt tokens (read in Redis, the shared state; the stage
    test does the same for the in-process store)."""
    user = new_id()
    key = f"pl:r:11:user-tokens{len(user)}:{user}"
    async with (
        limits_stack.client("tokens") as client,
        client.chat.completions.with_streaming_response.create(
            model="mock-a",
            messages=MESSAGES,
            max_tokens=40,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"X-Archestra-User-Id": user},
            extra_body={"mock": {"chunks": 40, "chunk_interval_ms": 50}},
        ) as response,
    ):
        limit = int(response.headers["x-ratelimit-limit-tokens"])
        reserve = limit - int(response.headers["x-ratelimit-remaining-tokens"])
        async for _ in response.iter_bytes():
            break  # one chunk, then the client is gone
    deadline = time.monotonic() + 10
    while (tokens := _hget_int(limits_stack, key, "t")) != reserve - 40:
        assert time.monotonic() < deadline, f"tokens stayed {tokens}, reserve {reserve}"
        await asyncio.sleep(0.05)  # until the gateway notices the client left


def _hget_int(stack: LimitsStack, key: str, field: str) -> int:
    assert stack.redis is not None
    reply = stack.redis.command("HGET", key, field).split(b"\r\n")
    return int(reply[1])
