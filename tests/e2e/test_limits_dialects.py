"""Stage 3 on the native routes of Gemini, Bedrock and Cohere: the same windows and token
reservations as on the OpenAI routes, refusals in each API's own format, and a reservation
settled to the provider's usage as that API reports it. One table row per API; plain HTTP (the
SDKs of each are driven in their own test modules)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.limits_stack import LimitsStack
from tests.e2e.test_limits import limits_stack  # noqa: F401 (the fixture: both backends)

PROMPT = "Say something short."


@dataclass(frozen=True)
class Api:
    name: str
    path: str  # under /v1/{api}/{proxy}
    body: dict[str, Any]
    headers: dict[str, str]
    # The provider's usage in an answer, as the tokens a reservation settles to.
    used: Callable[[dict[str, Any]], int]
    # The refusal in the API's own format: what the client's SDK reads.
    refused: Callable[[httpx.Response], bool]


def _gemini_used(answer: dict[str, Any]) -> int:
    meta = answer["usageMetadata"]
    return (
        int(meta["promptTokenCount"])
        + int(meta.get("candidatesTokenCount", 0))
        + int(meta.get("thoughtsTokenCount", 0))
    )


def _bedrock_used(answer: dict[str, Any]) -> int:
    usage = answer["usage"]
    return int(usage["inputTokens"]) + int(usage["outputTokens"])


def _cohere_used(answer: dict[str, Any]) -> int:
    billed = answer["usage"]["billed_units"]
    return int(billed["input_tokens"]) + int(billed["output_tokens"])


APIS = (
    Api(
        "gemini",
        "v1beta/models/gemini-2.5-flash:generateContent",
        {
            "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
            "generationConfig": {"maxOutputTokens": 40},
        },
        {"x-goog-api-key": "client"},
        _gemini_used,
        lambda r: (
            r.json()["error"]["status"] == "RESOURCE_EXHAUSTED" and r.json()["error"]["code"] == 429
        ),
    ),
    Api(
        "bedrock",
        "model/mock-bedrock%3Abench/converse",
        {
            "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
            "inferenceConfig": {"maxTokens": 40},
        },
        {},
        _bedrock_used,
        lambda r: (
            r.headers["x-amzn-errortype"].startswith("ThrottlingException")
            and "message" in r.json()
        ),
    ),
    Api(
        "cohere",
        "v2/chat",
        {
            "model": "command-r",
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 40,
        },
        {"authorization": "Bearer client"},
        _cohere_used,
        lambda r: isinstance(r.json().get("message"), str) and "per-agent" in r.json()["message"],
    ),
)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def url(stack: LimitsStack, api: Api, proxy: str) -> str:
    return f"{stack.gateway}/v1/{api.name}/{proxy}/{api.path}"


@pytest.mark.parametrize("api", APIS, ids=[a.name for a in APIS])
async def test_an_agents_window_refuses_in_the_apis_format(
    limits_stack: LimitsStack,  # noqa: F811
    api: Api,
) -> None:
    headers = {**api.headers, "X-Palisade-Agent-Id": new_id()}
    async with httpx.AsyncClient(timeout=30) as http:
        answers = await asyncio.gather(
            *(
                http.post(url(limits_stack, api, "agents"), json=api.body, headers=headers)
                for _ in range(6)
            )
        )
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 3  # the window is 3 per agent
    assert all(a.status_code == 200 for a in answers if a not in refused)
    assert api.refused(refused[0])
    assert refused[0].headers["retry-after"]


@pytest.mark.parametrize("api", APIS, ids=[a.name for a in APIS])
async def test_tpm_is_reserved_and_settled_to_the_providers_usage(
    limits_stack: LimitsStack,  # noqa: F811
    api: Api,
) -> None:
    headers = {**api.headers, "X-Archestra-User-Id": new_id()}
    async with httpx.AsyncClient(timeout=30) as http:

        async def call() -> tuple[int, int, int]:
            answer = await http.post(
                url(limits_stack, api, "tokens"), json=api.body, headers=headers
            )
            assert answer.status_code == 200, answer.text
            return (
                int(answer.headers["x-ratelimit-limit-tokens"]),
                int(answer.headers["x-ratelimit-remaining-tokens"]),
                api.used(answer.json()),
            )

        limit, remaining1, used1 = await call()
        reserve = limit - remaining1
        assert reserve > 40  # the prompt as counted + the most output tokens the request allows
        _, remaining2, _ = await call()
        assert remaining2 == limit - used1 - reserve  # settled to the provider's whole usage
