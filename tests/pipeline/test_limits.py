"""Stage 3 on its own: per-key limits (set by the identity stage in `ctx.key_limits`), the
plan of a request, settlement and accounting, against both store backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any, cast

import aiohttp
import orjson
import pytest
from starlette.responses import Response

from palisade.config import BudgetConfig, Config, ProviderConfig, ProxyConfig, RateLimitConfig
from palisade.disconnect import ClientDisconnected
from palisade.errors import BadRequest
from palisade.guardrails.policy import ProxyGuards
from palisade.pipeline.context import RequestContext
from palisade.pipeline.limits import (
    BudgetExceeded,
    Limits,
    ModelUnpriced,
    RateLimited,
    duration,
)
from palisade.pipeline.usage import prompt_tokens
from palisade.pricing import PriceTable, Usage
from palisade.providers.openai import CHAT
from palisade.store.limits_store import LimitsStore
from palisade.upstream.relay import SseResponse
from palisade.upstream.routing import Target

GUARDS = ProxyGuards.build(ProxyConfig(id="default", name="default"))
USAGE = Usage(12, 30)


def context(key_limits: dict[str, Any] | None, *, max_tokens: int = 50) -> RequestContext:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Count the tokens of this prompt, please."}],
        "max_tokens": max_tokens,
    }
    ctx = RequestContext(surface=CHAT, guards=GUARDS, proxy_id="default")
    ctx.body, ctx.raw_body, ctx.model = body, orjson.dumps(body), "gpt-4o"
    ctx.key_id, ctx.key_limits = "key_123", key_limits
    return ctx


async def answered(ctx: RequestContext, usage: Usage | None = USAGE) -> Response:
    ctx.status, ctx.usage = 200, usage
    return Response(b"{}", media_type="application/json")


def header(response: Response, name: str) -> str:
    return dict(response.headers)[name]


async def test_key_rpm_counts_down_then_refuses(store: LimitsStore) -> None:
    limits = Limits(Config(), store, PriceTable())
    seen = []
    for _ in range(2):
        ctx = context({"rpm": 2})
        assert limits.applies(ctx)
        response = await limits.run(ctx, partial(answered, ctx))
        seen.append(header(response, "x-ratelimit-remaining-requests"))
        assert ctx.limit_outcome == "allowed"
    assert seen == ["1", "0"]
    ctx = context({"rpm": 2})
    with pytest.raises(RateLimited) as info:
        await limits.run(ctx, lambda: answered(ctx))
    error = info.value
    assert (error.status, error.code, error.type) == (429, "rate_limit_exceeded", "requests")
    assert "rate limit `key` (scope: key)" in error.message
    assert 1 <= int(error.headers["retry-after"]) <= 60
    assert error.headers["x-ratelimit-limit-requests"] == "2"
    assert (ctx.limit_outcome, ctx.error_code) == ("rate_limited", "rate_limit_exceeded")


async def test_key_tpm_reserves_and_settles_exactly(store: LimitsStore) -> None:
    limits = Limits(Config(), store, PriceTable())
    first = context({"tpm": 10_000})
    reserve = prompt_tokens(first) + 50
    response = await limits.run(first, lambda: answered(first))
    assert header(response, "x-ratelimit-remaining-tokens") == str(10_000 - reserve)
    second = context({"tpm": 10_000})
    response = await limits.run(second, lambda: answered(second))
    assert header(response, "x-ratelimit-remaining-tokens") == str(10_000 - 42 - reserve)


async def test_default_max_tokens_is_reserved_when_the_request_names_none(
    store: LimitsStore,
) -> None:
    limits = Limits(Config(tpm_default_max_tokens=700), store, PriceTable())
    ctx = context({"tpm": 10_000})
    del ctx.body["max_tokens"]
    response = await limits.run(ctx, lambda: answered(ctx))
    remaining = int(header(response, "x-ratelimit-remaining-tokens"))
    assert remaining == 10_000 - prompt_tokens(ctx) - 700


async def test_key_budget_is_charged_the_real_cost_then_refuses(store: LimitsStore) -> None:
    limits = Limits(Config(), store, PriceTable())
    expected = PriceTable().cost("gpt-4o", USAGE)
    assert expected is not None
    first = context({"budget_usd": expected / 2, "budget_period": "day"})
    await limits.run(first, lambda: answered(first))
    assert first.cost_usd == pytest.approx(expected)
    second = context({"budget_usd": expected / 2, "budget_period": "day"})
    with pytest.raises(BudgetExceeded) as info:
        await limits.run(second, lambda: answered(second))
    assert (info.value.status, info.value.code) == (402, "budget_exceeded")
    assert "budget `key`" in info.value.message
    assert second.limit_outcome == "budget_exceeded"


async def test_unpriced_models_cost_nothing(store: LimitsStore) -> None:
    limits = Limits(Config(), store, PriceTable())
    for _ in range(3):
        ctx = context({"budget_usd": 1e-9})
        ctx.model = "nobody-knows-this-model"
        await limits.run(ctx, partial(answered, ctx))
        assert ctx.cost_usd == 0.0


class _Upstream:
    def close(self) -> None:
        pass


async def test_a_stream_left_early_settles_its_prompt(store: LimitsStore) -> None:
    """The client leaves before the usage chunk: the reservation becomes the prompt tokens."""
    limits = Limits(Config(), store, PriceTable())
    ctx = context({"tpm": 10_000})
    prompt = prompt_tokens(ctx)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b'data: {"choices": []}\n\n'

    async def streamed() -> Response:
        ctx.status = 200
        return SseResponse(chunks(), [], cast(aiohttp.ClientResponse, _Upstream()), ctx)

    response = await limits.run(ctx, streamed)
    assert isinstance(response, SseResponse)
    iterator = response.chunks
    await anext(iterator)
    await iterator.aclose()  # type: ignore[attr-defined]
    await limits.drain()
    assert ctx.tokens_counted
    after = context({"tpm": 10_000})
    response = await limits.run(after, lambda: answered(after))
    remaining = int(header(response, "x-ratelimit-remaining-tokens"))
    assert remaining == 10_000 - prompt - (prompt + 50)


async def test_nothing_applies_no_store_call() -> None:
    class Untouchable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"store.{name} called")

    config = Config(
        limits=(RateLimitConfig(name="other", scope=("user",), rpm=1, proxies=("elsewhere",)),),
        proxies=(ProxyConfig(id="default", name="default"), ProxyConfig(id="elsewhere", name="e")),
    )
    limits = Limits(config, cast(LimitsStore, Untouchable()), PriceTable())
    ctx = context(None)
    assert not limits.applies(ctx)
    ctx.user_id = None
    # A limit for users on a request without a user id does not apply either.
    config = Config(limits=(RateLimitConfig(name="u", scope=("user",), rpm=1),))
    limits = Limits(config, cast(LimitsStore, Untouchable()), PriceTable())
    assert limits.applies(ctx)
    response = await limits.run(ctx, lambda: answered(ctx))
    assert "x-ratelimit-limit-requests" not in dict(response.headers)


def test_reset_durations_look_like_openais() -> None:
    assert [duration(ms) for ms in (0, 20, 999, 1000, 1001, 59_000, 60_000, 360_000)] == [
        "0ms",
        "20ms",
        "999ms",
        "1s",
        "2s",
        "59s",
        "1m0s",
        "6m0s",
    ]


async def test_a_big_prompt_is_counted_off_the_loop_to_the_same_number(
    store: LimitsStore,
) -> None:
    limits = Limits(Config(), store, PriceTable())
    ctx = context({"tpm": 10_000_000})
    ctx.body["messages"] = [{"role": "user", "content": "lorem ipsum dolor " * 4000}]
    ctx.raw_body = orjson.dumps(ctx.body)
    assert len(ctx.raw_body) > 48 * 1024
    response = await limits.run(ctx, lambda: answered(ctx))
    remaining = int(header(response, "x-ratelimit-remaining-tokens"))
    assert remaining == 10_000_000 - prompt_tokens(ctx) - 50
    assert prompt_tokens(ctx) > 8000


async def test_a_client_that_leaves_during_the_call_is_charged_its_prompt(
    store: LimitsStore,
) -> None:
    limits = Limits(Config(), store, PriceTable())
    ctx = context({"tpm": 10_000})
    prompt = prompt_tokens(ctx)

    async def left() -> Response:
        raise ClientDisconnected

    with pytest.raises(ClientDisconnected):
        await limits.run(ctx, left)
    await limits.drain()
    after = context({"tpm": 10_000})
    response = await limits.run(after, lambda: answered(after))
    remaining = int(header(response, "x-ratelimit-remaining-tokens"))
    assert remaining == 10_000 - prompt - (prompt + 50)


async def test_a_gateway_error_during_the_call_gets_the_headers_and_a_full_refund(
    store: LimitsStore,
) -> None:
    limits = Limits(Config(), store, PriceTable())
    ctx = context({"rpm": 5, "tpm": 10_000})

    async def refused() -> Response:
        raise BadRequest("Palisade: blocked by a guardrail.")

    with pytest.raises(BadRequest) as info:
        await limits.run(ctx, refused)
    assert info.value.headers["x-ratelimit-remaining-requests"] == "4"
    await limits.drain()
    after = context({"rpm": 5, "tpm": 10_000})
    response = await limits.run(after, lambda: answered(after))
    assert header(response, "x-ratelimit-remaining-tokens") == str(
        10_000 - prompt_tokens(after) - 50
    )


async def test_each_choice_reserves_its_max_tokens(store: LimitsStore) -> None:
    limits = Limits(Config(), store, PriceTable())
    ctx = context({"tpm": 10_000})
    ctx.body["n"] = 3
    response = await limits.run(ctx, lambda: answered(ctx))
    remaining = int(header(response, "x-ratelimit-remaining-tokens"))
    assert remaining == 10_000 - prompt_tokens(ctx) - 3 * 50


async def test_plans_follow_the_keys_own_limits(store: LimitsStore) -> None:
    """Plans are cached by the request's ids and the key's limits: new limits, a new plan."""
    limits = Limits(Config(), store, PriceTable())
    seen = []
    for key_limits in ({"rpm": 5}, {"rpm": 9}, {"rpm": 9, "tags": ["unhashable"]}):
        ctx = context(key_limits)
        response = await limits.run(ctx, partial(answered, ctx))
        seen.append(header(response, "x-ratelimit-limit-requests"))
    assert seen == ["5", "9", "9"]


STRICT = ProxyConfig(id="strict", name="strict", refuse_unpriced=True)


def strict(model: str, key_limits: dict[str, Any] | None = None) -> RequestContext:
    """A request through the proxy that refuses unpriced models, routed to `model`."""
    ctx = context(key_limits)
    ctx.guards, ctx.proxy_id = ProxyGuards.build(STRICT), STRICT.id
    ctx.target = Target(ProviderConfig(name="openai", base_url="http://x"), model, rewritten=False)
    return ctx


async def test_a_proxy_refuses_unpriced_models_while_a_budget_applies(store: LimitsStore) -> None:
    config = Config(
        proxies=(STRICT,), budgets=(BudgetConfig(name="team", scope="proxy", usd=10.0),)
    )
    limits = Limits(config, store, PriceTable())
    calls = []

    async def call(ctx: RequestContext) -> Response:
        calls.append(ctx)
        return await answered(ctx)

    # The model as routed decides: the client's `gpt-4o` went to a model nobody priced.
    ctx = strict("house-model-7")
    with pytest.raises(ModelUnpriced) as info:
        await limits.run(ctx, partial(call, ctx))
    error = info.value
    assert (error.status, error.code, error.param) == (400, "model_unpriced", "model")
    assert "`house-model-7` has no price" in error.message
    assert "proxy `strict`" in error.message
    assert "`team`" in error.message
    assert (ctx.limit_outcome, ctx.error_code) == ("model_unpriced", "model_unpriced")
    assert calls == []
    priced = strict("gpt-4o")
    await limits.run(priced, partial(call, priced))
    assert calls == [priced]
    assert priced.limit_outcome == "allowed"
    # A virtual key's own budget applies to its caller as well.
    limits = Limits(Config(proxies=(STRICT,)), store, PriceTable())
    ctx = strict("house-model-7", {"budget_usd": 5})
    with pytest.raises(ModelUnpriced):
        await limits.run(ctx, partial(call, ctx))


async def test_unpriced_models_pass_without_a_budget_or_without_the_option(
    store: LimitsStore,
) -> None:
    # A rate limit applies, no budget does: nothing to charge, nothing to refuse.
    config = Config(
        proxies=(STRICT,), limits=(RateLimitConfig(name="r", scope=("proxy",), rpm=100),)
    )
    limits = Limits(config, store, PriceTable())
    ctx = strict("house-model-7")
    await limits.run(ctx, partial(answered, ctx))
    assert ctx.limit_outcome == "allowed"
    # A budget, on a proxy that does not refuse: the call passes and costs 0 (and is counted).
    limits = Limits(Config(), store, PriceTable())
    ctx = context({"budget_usd": 5})
    ctx.target = Target(ProviderConfig(name="p", base_url="http://x"), "house-model-7", False)
    await limits.run(ctx, partial(answered, ctx))
    assert (ctx.limit_outcome, ctx.cost_usd) == ("allowed", 0.0)
