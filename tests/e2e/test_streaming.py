"""Streams are relayed as they arrive, broken streams end in an error, and a client that goes
away takes its upstream request with it."""

from __future__ import annotations

import time
from typing import Any

import httpx2 as httpx
import openai
import pytest

from tests.e2e.conftest import CLIENT_KEY, Stack

MESSAGES: list[Any] = [{"role": "user", "content": "stream please"}]


def wait_for(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("endpoint", ["chat", "responses"])
def test_first_chunk_arrives_before_the_upstream_sends_the_last(
    client: openai.OpenAI, endpoint: str
) -> None:
    chunks, interval_s = 5, 0.4
    knobs = {"mock": {"chunks": chunks, "chunk_interval_ms": interval_s * 1000}}
    start = time.monotonic()
    arrivals: list[float] = []
    if endpoint == "chat":
        for _ in client.chat.completions.create(
            model="mock-gpt", messages=MESSAGES, stream=True, extra_body=knobs
        ):
            arrivals.append(time.monotonic() - start)
    else:
        for _ in client.responses.create(
            model="mock-gpt", input="hi", stream=True, extra_body=knobs
        ):
            arrivals.append(time.monotonic() - start)
    # The mock cannot send its last chunk before (chunks - 1) intervals have passed; a gateway
    # that buffered the stream would deliver everything after that point.
    last_sent_no_earlier_than = (chunks - 1) * interval_s
    assert arrivals[0] < last_sent_no_earlier_than
    assert arrivals[-1] >= last_sent_no_earlier_than


def test_drop_mid_stream_ends_with_an_error_not_a_hang(client: openai.OpenAI) -> None:
    received: list[object] = []
    stream = client.chat.completions.create(
        model="mock-gpt",
        messages=MESSAGES,
        stream=True,
        extra_body={"mock": {"fail": "drop", "fail_after_chunks": 2, "chunks": 6}},
    )
    with pytest.raises(openai.APIError) as info:
        received.extend(stream)
    assert 1 <= len(received) <= 3
    assert "broke off" in str(info.value)


async def test_drop_mid_stream_async(async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.chat.completions.create(
        model="mock-gpt",
        messages=MESSAGES,
        stream=True,
        extra_body={"mock": {"fail": "drop", "fail_after_chunks": 1}},
    )
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass


def test_client_disconnect_cancels_a_pending_upstream_request(stack: Stack) -> None:
    path = "/hang/v1/chat/completions"
    before = stack.raw.closed_by_peer.get(path, 0)
    with (
        openai.OpenAI(
            base_url=f"{stack.gateway}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=0.5
        ) as impatient,
        pytest.raises(openai.APITimeoutError),
    ):
        impatient.chat.completions.create(model="rawhang:any", messages=MESSAGES)
    assert wait_for(lambda: stack.raw.closed_by_peer.get(path, 0) > before)


def test_client_disconnect_mid_stream_closes_the_upstream_stream(stack: Stack) -> None:
    path = "/stream/v1/chat/completions"
    before = stack.raw.closed_by_peer.get(path, 0)
    with httpx.stream(
        "POST",
        f"{stack.gateway}/v1/chat/completions",
        json={"model": "rawstream:any", "messages": MESSAGES, "stream": True},
    ) as answer:
        assert answer.status_code == 200
        first = next(answer.iter_raw())
        assert first.startswith(b"data: ")
    assert wait_for(lambda: stack.raw.closed_by_peer.get(path, 0) > before)
