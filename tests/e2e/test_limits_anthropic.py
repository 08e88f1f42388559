"""Stage 3 on Anthropic's route: the same windows, reservations, budgets and dedup as on the
OpenAI routes, refusals in Anthropic's format; the official anthropic SDK as the client."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import anthropic

from tests.e2e.limits_stack import LimitsStack
from tests.e2e.test_limits import limits_stack  # noqa: F401 (the fixture: both backends)

MODEL = "claude-haiku-4-5"
MESSAGES: list[Any] = [{"role": "user", "content": "Say something short."}]


def client(stack: LimitsStack, proxy: str) -> Any:
    return anthropic.AsyncAnthropic(
        base_url=f"{stack.gateway}/v1/anthropic/{proxy}", api_key="client", max_retries=0
    )


def new_id() -> str:
    return uuid.uuid4().hex[:12]


async def test_an_agents_window_refuses_in_anthropics_format(
    limits_stack: LimitsStack,  # noqa: F811
) -> None:
    headers = {"X-Palisade-Agent-Id": new_id()}
    async with client(limits_stack, "agents") as c:

        async def one() -> anthropic.RateLimitError | None:
            try:
                await c.messages.create(
                    model=MODEL, max_tokens=16, messages=MESSAGES, extra_headers=headers
                )
            except anthropic.RateLimitError as exc:
                return exc
            return None

        results = await asyncio.gather(*(one() for _ in range(6)))
    refused = [r for r in results if r is not None]
    assert len(refused) == 3  # the window is 3 per agent
    body = refused[0].response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert "per-agent" in body["error"]["message"]
    assert refused[0].response.headers["retry-after"]


async def test_tpm_is_reserved_and_settled_with_cache_figures(
    limits_stack: LimitsStack,  # noqa: F811
) -> None:
    headers = {"X-Archestra-User-Id": new_id()}
    system = [{"type": "text", "text": "Rules. " * 40, "cache_control": {"type": "ephemeral"}}]
    async with client(limits_stack, "tokens") as c:

        async def call() -> tuple[int, int, int]:
            raw = await c.messages.with_raw_response.create(
                model=MODEL, max_tokens=40, system=system, messages=MESSAGES, extra_headers=headers
            )
            usage = (await raw.parse()).usage
            used = (
                usage.input_tokens
                + (usage.cache_read_input_tokens or 0)
                + (usage.cache_creation_input_tokens or 0)
                + usage.output_tokens
            )
            assert usage.cache_read_input_tokens
            return (
                int(raw.headers["x-ratelimit-limit-tokens"]),
                int(raw.headers["x-ratelimit-remaining-tokens"]),
                used,
            )

        limit, remaining1, used1 = await call()
        reserve = limit - remaining1
        assert reserve > 40  # the prompt as counted + max_tokens
        _, remaining2, _ = await call()
        assert remaining2 == limit - used1 - reserve  # settled to the provider's whole usage


async def test_duplicates_reach_the_provider_once(
    limits_stack: LimitsStack,  # noqa: F811
) -> None:
    limits_stack.clear_mock()
    before = limits_stack.upstream_calls("/v1/messages")
    key = new_id()
    async with client(limits_stack, "default") as c:
        answers = await asyncio.gather(
            *(
                c.messages.with_raw_response.create(
                    model=MODEL,
                    max_tokens=16,
                    messages=MESSAGES,
                    extra_headers={"Idempotency-Key": key},
                )
                for _ in range(10)
            )
        )
    assert limits_stack.upstream_calls("/v1/messages") == before + 1
    assert len({(await a.parse()).content[0].text for a in answers}) == 1
    assert [a.headers.get("x-palisade-idempotent-replay") for a in answers].count("true") == 9
