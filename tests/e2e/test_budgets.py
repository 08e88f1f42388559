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
                # A model the pricing table does not know costs 0: never refused.
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
