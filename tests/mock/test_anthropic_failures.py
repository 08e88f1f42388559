"""Auth and injected failures on the Anthropic routes, raised as the SDK's exception classes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import anthropic
import httpx2
import openai
import pytest

from tests.helpers.servers import RunningServer
from tests.mock.test_anthropic import MESSAGES
from tests.mock.wire import sse_events


def fail(kind: str, **more: Any) -> dict[str, Any]:
    return {"mock": {"fail": kind, **more}}


def test_429_with_retry_after(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude.messages.create(
            model="m", max_tokens=16, messages=MESSAGES, extra_body=fail("429", retry_after="7")
        )
    error = caught.value
    assert error.status_code == 429
    assert error.type == "rate_limit_error"
    assert error.response.headers["retry-after"] == "7"
    assert isinstance(error.body, dict)
    assert error.body["type"] == "error"
    assert error.body["request_id"] == error.request_id


@pytest.mark.parametrize(
    ("status", "exception", "type"),
    [
        ("500", anthropic.InternalServerError, "api_error"),
        ("503", anthropic.ServiceUnavailableError, "api_error"),
        ("529", anthropic.OverloadedError, "overloaded_error"),
        # With nothing streamed to break, the mid-stream overload is an overload.
        ("stream_error", anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_server_errors(
    async_claude: anthropic.AsyncAnthropic,
    status: str,
    exception: type[anthropic.APIStatusError],
    type: str,
) -> None:
    with pytest.raises(exception) as caught:
        await async_claude.messages.create(
            model="m", max_tokens=16, messages=MESSAGES, extra_body=fail(status)
        )
    assert isinstance(caught.value, anthropic.InternalServerError)
    assert caught.value.type == type
    assert caught.value.status_code == (529 if status == "stream_error" else int(status))


def test_status_failures_refuse_a_stream_before_it_starts(claude: anthropic.Anthropic) -> None:
    with (
        pytest.raises(anthropic.OverloadedError),
        claude.messages.stream(
            model="m", max_tokens=16, messages=MESSAGES, extra_body=fail("529")
        ) as stream,
    ):
        stream.get_final_message()


def test_error_event_mid_stream(claude: anthropic.Anthropic) -> None:
    received: list[str] = []
    stream = claude.messages.create(
        model="m",
        max_tokens=64,
        messages=MESSAGES,
        stream=True,
        extra_body=fail("stream_error", fail_after_chunks=4),
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        received.extend(event.type for event in stream)
    # Four events went out (the SDK does not show the ping), then the error.
    assert received == ["message_start", "content_block_start", "content_block_delta"]
    assert caught.value.type == "overloaded_error"
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


async def test_error_event_on_the_wire(claude_http: aiohttp.ClientSession) -> None:
    body = {
        "model": "m",
        "max_tokens": 64,
        "messages": MESSAGES,
        "stream": True,
        "mock": {"fail": "stream_error", "fail_after_chunks": 2},
    }
    async with claude_http.post("/v1/messages", json=body) as response:
        assert response.status == 200
        raw = await response.read()  # a complete body: the stream ends, it does not break
    assert [name for name, _ in sse_events(raw)] == [
        "message_start",
        "content_block_start",
        "error",
    ]
    assert raw.endswith(
        b'event: error\ndata: {"type":"error","error":'
        b'{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )


def test_drop(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIConnectionError):
        claude.messages.create(model="m", max_tokens=16, messages=MESSAGES, extra_body=fail("drop"))
    received: list[str] = []
    stream = claude.messages.create(
        model="m",
        max_tokens=64,
        messages=MESSAGES,
        stream=True,
        extra_body=fail("drop", fail_after_chunks=3),
    )
    # Once the stream has started, the SDK lets the transport's error through unwrapped.
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        received.extend(event.type for event in stream)
    assert received == ["message_start", "content_block_start"]


async def test_hang_times_out(mock_server_url: str) -> None:
    async with anthropic.AsyncAnthropic(
        base_url=mock_server_url, api_key="k", max_retries=0, timeout=0.5
    ) as sdk:
        hanging = asyncio.ensure_future(
            sdk.messages.create(
                model="m", max_tokens=16, messages=MESSAGES, extra_body=fail("hang")
            )
        )
        answer = await sdk.messages.create(model="m", max_tokens=16, messages=MESSAGES)
        assert answer.content
        assert not hanging.done()
        with pytest.raises(anthropic.APITimeoutError):
            await hanging


async def test_latency_knobs_delay_the_answer(claude_http: aiohttp.ClientSession) -> None:
    body: dict[str, Any] = {"model": "m", "max_tokens": 16, "messages": MESSAGES}
    started = time.monotonic()
    async with claude_http.post("/v1/messages", json={**body, "mock": {"latency_ms": 200}}):
        waited = time.monotonic() - started
    assert waited >= 0.2
    slow_start = {**body, "stream": True, "mock": {"ttft_ms": 200}}
    started = time.monotonic()
    async with claude_http.post("/v1/messages", json=slow_start) as response:
        first = await response.content.readline()
        waited = time.monotonic() - started
    assert first == b"event: message_start\n"
    assert waited >= 0.2


def test_bad_knobs_are_anthropic_400s(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model="m", max_tokens=16, messages=MESSAGES, extra_body={"mock": {"nope": 1}}
        )
    assert caught.value.type == "invalid_request_error"
    assert caught.value.api_message == "unknown mock knob 'nope'"


def test_anthropic_failures_stay_off_the_openai_side(client: openai.OpenAI) -> None:
    for kind in ("529", "stream_error"):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model="m", messages=MESSAGES, extra_body={"mock": {"fail": kind}}
            )
        assert caught.value.param == "mock.fail"
        assert caught.value.message.endswith(
            "mock.fail must be one of 429, 500, 503, content_filter, context_length, drop, hang"
        )


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Basic abc"}, {"x-api-key": ""}, {"authorization": "Bearer "}],
)
async def test_a_missing_key_is_401(mock_server_url: str, headers: dict[str, str]) -> None:
    async with (
        aiohttp.ClientSession() as bare,
        bare.post(
            mock_server_url + "/v1/messages",
            json={"model": "m", "max_tokens": 5, "messages": MESSAGES},
            headers={"anthropic-version": "2023-06-01", **headers},
        ) as response,
    ):
        assert response.status == 401
        body = await response.json()
        assert body["request_id"] == response.headers["request-id"]
    assert body["error"] == {
        "type": "authentication_error",
        "message": "x-api-key header is required",
    }


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"x-api-key": "sk-right"}, True),
        ({"authorization": "Bearer sk-right"}, True),
        ({"x-api-key": "sk-wrong"}, False),
        # With both, x-api-key decides.
        ({"x-api-key": "sk-wrong", "authorization": "Bearer sk-right"}, False),
        ({"x-api-key": "sk-right", "authorization": "Bearer sk-wrong"}, True),
    ],
)
async def test_api_key_setting(
    keyed_mock: RunningServer, headers: dict[str, str], ok: bool
) -> None:
    async with (
        aiohttp.ClientSession() as bare,
        bare.post(
            keyed_mock.url + "/v1/messages/count_tokens",
            json={"model": "m", "messages": MESSAGES},
            headers={"anthropic-version": "2023-06-01", **headers},
        ) as response,
    ):
        body = await response.json()
    if ok:
        assert response.status == 200
        assert body["input_tokens"] > 0
    else:
        assert response.status == 401
        assert body["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


def test_sdk_authentication_error(keyed_mock: RunningServer) -> None:
    with anthropic.Anthropic(base_url=keyed_mock.url, api_key="sk-right", max_retries=0) as sdk:
        assert sdk.messages.create(model="m", max_tokens=16, messages=MESSAGES).content
    with (
        anthropic.Anthropic(base_url=keyed_mock.url, api_key="sk-wrong", max_retries=0) as sdk,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        sdk.models.list()
    assert caught.value.type == "authentication_error"
    assert caught.value.status_code == 401


async def test_unknown_path_in_anthropic_format(claude_http: aiohttp.ClientSession) -> None:
    async with claude_http.post("/v1/messages/batches/nope", json={}) as response:
        assert response.status == 404
        body = await response.json()
    assert body["type"] == "error"
    assert body["error"] == {"type": "not_found_error", "message": "Not Found"}
