"""Budgets end to end: charged from the real cost after each call, refused with 402 once spent,
and still spent after the gateway restarts (SQLite in process, Redis otherwise)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.limits_stack import gateway, mock_upstream
from tests.helpers.redis_server import RedisServer

MESSAGES: list[Any] = [{"role": "user", "content": "What does it cost?"}]


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_budget_refuses_once_spent_and_survives_a_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis_url = None
    if backend == "redis":
        server: RedisServer = request.getfixturevalue("redis")
        redis_url = server.url
    user = {"X-Archestra-User-Id": uuid.uuid4().hex}
    other = {"X-Archestra-User-Id": uuid.uuid4().hex}
    with mock_upstream() as mock:
        with gateway(tmp_path, mock.url, redis_url=redis_url, workers=1) as gw:
            async with openai.AsyncOpenAI(
                base_url=f"{gw.url}/budget", api_key="c", max_retries=0
            ) as client:
                # mock-priced costs 1000 USD per million tokens: one call spends the $0.005.
                first = await client.chat.completions.create(
                    model="mock-priced", messages=MESSAGES, extra_headers=user
                )
                assert first.usage is not None
                assert first.usage.total_tokens * 0.001 >= 0.005
                with pytest.raises(openai.APIStatusError) as info:
                    await client.chat.completions.create(
                        model="mock-priced", messages=MESSAGES, extra_headers=user
                    )
                assert info.value.status_code == 402
                error = info.value.response.json()["error"]
                assert error["code"] == "budget_exceeded"
                assert "user-daily" in error["message"]
                # A model without a price costs 0: never refused on a proxy that allows it.
                for _ in range(3):
                    await client.chat.completions.create(
                        model="mock-unpriced", messages=MESSAGES, extra_headers=other
                    )
        with gateway(tmp_path, mock.url, redis_url=redis_url, workers=1) as gw:
            async with openai.AsyncOpenAI(
                base_url=f"{gw.url}/budget", api_key="c", max_retries=0
            ) as client:
                with pytest.raises(openai.APIStatusError) as again:
                    await client.chat.completions.create(
                        model="mock-priced", messages=MESSAGES, extra_headers=user
                    )
                assert again.value.status_code == 402
                await client.chat.completions.create(
                    model="mock-priced", messages=MESSAGES, extra_headers=other
                )


async def test_a_proxy_refuses_unpriced_models_while_a_budget_applies(tmp_path: Path) -> None:
    user = {"X-Archestra-User-Id": uuid.uuid4().hex}
    with mock_upstream() as mock, gateway(tmp_path, mock.url, redis_url=None, workers=1) as gw:
        async with openai.AsyncOpenAI(
            base_url=f"{gw.url}/strict-budget", api_key="c", max_retries=0
        ) as client:
            with pytest.raises(openai.BadRequestError) as info:
                await client.chat.completions.create(
                    model="mock-unpriced", messages=MESSAGES, extra_headers=user
                )
            assert info.value.response.headers["x-palisade-error"] == "model_unpriced"
            error = info.value.response.json()["error"]
            assert (error["code"], error["param"]) == ("model_unpriced", "model")
            assert "`mock-unpriced` has no price" in error["message"]
            assert "`strict-daily`" in error["message"]
            # Without a user id the user budget does not apply: the call goes through.
            await client.chat.completions.create(model="mock-unpriced", messages=MESSAGES)
            # A priced model goes through under the budget.
            await client.chat.completions.create(
                model="mock-priced", messages=MESSAGES, extra_headers=user
            )
