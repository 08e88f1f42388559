from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import openai
import pytest

MESSAGES: Any = [{"role": "user", "content": "Hello"}]


def fail(kind: str, **more: Any) -> dict[str, Any]:
    return {"mock": {"fail": kind, **more}}


def test_429_with_retry_after(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="m", messages=MESSAGES, extra_body=fail("429", retry_after="7")
        )
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.status_code == 429


async def test_429_default_retry_after_on_a_stream(async_client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await async_client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, extra_body=fail("429")
        )
    assert caught.value.response.headers["retry-after"] == "1"


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors(client: openai.OpenAI, status: str) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.embeddings.create(model="m", input="x", extra_body=fail(status))
    assert caught.value.status_code == int(status)
    assert isinstance(caught.value.body, dict)
    assert caught.value.type == "server_error"


def test_drop_without_stream(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MESSAGES, extra_body=fail("drop"))


def test_drop_mid_stream_sync(client: openai.OpenAI) -> None:
    received: list[object] = []
    stream = client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, extra_body=fail("drop", fail_after_chunks=3)
    )
    with pytest.raises(openai.APIConnectionError):
        received.extend(stream)
    assert len(received) == 3


async def test_drop_mid_stream_async(async_client: openai.AsyncOpenAI) -> None:
    received: list[str] = []

    async def consume() -> None:
        stream = await async_client.responses.create(
            model="m", input="Hi", stream=True, extra_body=fail("drop")
        )
        async for event in stream:
            received.append(event.type)

    with pytest.raises(openai.APIConnectionError):
        await consume()
    assert received == ["response.created", "response.in_progress"]


async def test_drop_before_any_chunk_is_still_a_broken_stream(
    http: aiohttp.ClientSession,
) -> None:
    body = {
        "model": "m",
        "prompt": "x",
        "stream": True,
        "mock": fail("drop", fail_after_chunks=0)["mock"],
    }
    async with http.post("/v1/completions", json=body) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_hang_times_out_without_blocking_others(mock_server_url: str) -> None:
    async with openai.AsyncOpenAI(
        base_url=mock_server_url + "/v1", api_key="k", max_retries=0, timeout=1.0
    ) as sdk:
        hanging = asyncio.ensure_future(
            sdk.chat.completions.create(model="m", messages=MESSAGES, extra_body=fail("hang"))
        )
        answer = await sdk.chat.completions.create(model="m", messages=MESSAGES)
        assert answer.choices[0].message.content
        assert not hanging.done()
        with pytest.raises(openai.APITimeoutError):
            await hanging


@pytest.mark.parametrize(
    "knobs",
    [{"fail": "404"}, {"chunks": 0}, {"latency_ms": -1}, {"tool_calls": []}, {"nope": 1}, "x"],
)
def test_bad_knobs_are_400(client: openai.OpenAI, knobs: Any) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES, extra_body={"mock": knobs})
    assert caught.value.param is not None
    assert caught.value.param.startswith("mock")
