"""Scenarios: one mock process plays several deployments told apart by a path prefix
(`/_s/{name}/...`), each failing, slowing or cutting its streams as `PUT /_mock/scenarios/{name}`
says, switchable at run time, with counters; the unprefixed routes are untouched. Driven through
a real mock server by the dialects' own SDKs (OpenAI, Anthropic, google-genai, boto3) and raw
HTTP."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic
import boto3
import httpx2 as httpx
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from google import genai
from google.genai import errors as genai_errors

from palisade.mock.settings import MockSettings
from tests.helpers.servers import RunningServer, free_port, start_process_server
from tests.mock.conftest import mock_argv
from tests.mock.wire import sse_events

MESSAGES: Any = [{"role": "user", "content": "Hello"}]
GEMINI = "gemini-2.5-flash"
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
CLAUDE = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


@pytest.fixture
def control(mock_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock_server.url, timeout=10) as http:
        yield http


@pytest.fixture
def name(control: httpx.Client) -> Iterator[str]:
    """A fresh scenario name, forgotten after the test (the server is shared)."""
    value = "t-" + uuid.uuid4().hex[:8]
    yield value
    control.delete(f"/_mock/scenarios/{value}")


def put(control: httpx.Client, name: str, **behaviour: Any) -> dict[str, Any]:
    response = control.put(f"/_mock/scenarios/{name}", json=behaviour)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def view(control: httpx.Client, name: str) -> dict[str, Any]:
    response = control.get(f"/_mock/scenarios/{name}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def gpt(server: RunningServer, name: str | None, timeout: float = 10) -> openai.OpenAI:
    root = server.url if name is None else f"{server.url}/_s/{name}"
    return openai.OpenAI(base_url=root + "/v1", api_key="sk-test", max_retries=0, timeout=timeout)


def claude(server: RunningServer, name: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{server.url}/_s/{name}", api_key="sk-ant-test", max_retries=0, timeout=10
    )


def gemini(server: RunningServer, name: str) -> genai.Client:
    options: Any = {"base_url": f"{server.url}/_s/{name}", "api_version": "v1beta"}
    return genai.Client(api_key="any", http_options=options)


def chat(client: openai.OpenAI) -> str | None:
    return client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content


# --- fail_times: the next N requests fail, then the scenario behaves -----------------------


def test_openai_429_fail_times_then_success_with_reset_headers(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    put(control, name, fail=429, fail_times=2, retry_after="1")
    client = gpt(mock_server, name)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as caught:
            chat(client)
        headers = caught.value.response.headers
        assert headers["retry-after"] == "1"
        assert headers["x-ratelimit-reset-requests"] == "1s"
        assert headers["x-ratelimit-reset-tokens"] == "1s"
        assert headers["x-ratelimit-remaining-requests"] == "0"
        assert caught.value.code == "rate_limit_exceeded"
    assert chat(client)
    seen = view(control, name)
    assert seen["requests"] == 3
    assert seen["injected"] == 2
    assert seen["outcomes"] == {"429": 2, "ok": 1}
    assert seen["fail_times_left"] == 0


def test_openai_stream_fails_before_its_first_byte_then_streams(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    put(control, name, fail=500, fail_times=1)
    client = gpt(mock_server, name)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_anthropic_529_then_429_with_its_reset_headers_then_success(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    client = claude(mock_server, name)
    put(control, name, fail="529", fail_times=1)
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.messages.create(model="c", max_tokens=8, messages=MESSAGES)
    assert overloaded.value.status_code == 529
    assert overloaded.value.type == "overloaded_error"

    put(control, name, fail="429", fail_times=1, retry_after="2")
    before = time.time()
    with (
        pytest.raises(anthropic.RateLimitError) as limited,
        client.messages.stream(model="c", max_tokens=8, messages=MESSAGES) as stream,
    ):
        stream.get_final_message()
    headers = limited.value.response.headers
    assert headers["retry-after"] == "2"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    reset = datetime.fromisoformat(headers["anthropic-ratelimit-requests-reset"])
    assert reset.tzinfo is not None
    assert before + 2 <= reset.timestamp() <= before + 4
    assert (
        headers["anthropic-ratelimit-tokens-reset"] == headers["anthropic-ratelimit-requests-reset"]
    )
    answer = client.messages.create(model="c", max_tokens=8, messages=MESSAGES)
    assert answer.content
    # PUT replaced the behaviour and kept the counters.
    assert view(control, name)["outcomes"] == {"529": 1, "429": 1, "ok": 1}


def test_gemini_fail_times_whole_and_streamed(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    client = gemini(mock_server, name)
    put(control, name, fail=503, fail_times=2)
    with pytest.raises(genai_errors.ServerError) as caught:
        client.models.generate_content(model=GEMINI, contents="hi")
    assert caught.value.code == 503
    assert caught.value.status == "UNAVAILABLE"
    with pytest.raises(genai_errors.ServerError):
        list(client.models.generate_content_stream(model=GEMINI, contents="hi"))
    assert client.models.generate_content(model=GEMINI, contents="hi").text
    assert "".join(
        c.text or "" for c in client.models.generate_content_stream(model=GEMINI, contents="hi")
    )
    assert view(control, name)["outcomes"] == {"503": 2, "ok": 2}


# --- one deployment fails, another on the same mock behaves; the plain routes are untouched ---


def test_only_the_named_scenario_fails(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    put(control, name, fail=500)
    healthy = name + "-ok"
    try:
        with pytest.raises(openai.InternalServerError):
            chat(gpt(mock_server, name))
        assert chat(gpt(mock_server, healthy))
        assert chat(gpt(mock_server, None))
        # A prefix never PUT is an empty scenario that counts.
        assert view(control, healthy)["outcomes"] == {"ok": 1}
        assert view(control, name)["outcomes"] == {"500": 1}
    finally:
        control.delete(f"/_mock/scenarios/{healthy}")


def test_unprefixed_routes_are_unchanged(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    put(control, name, fail=500, latency_ms=500)
    before = control.get("/_mock/scenarios").json()
    started = time.perf_counter()
    answer = gpt(mock_server, None).chat.completions.create(model="m", messages=MESSAGES)
    assert time.perf_counter() - started < 0.4
    assert answer.choices[0].message.content
    listed = control.get("/v1/models", headers={"authorization": "Bearer k"})
    assert listed.status_code == 200
    assert listed.json()["object"] == "list"
    assert control.get("/_mock/scenarios").json() == before
    # The recorder shows the path as the client sent it, prefix included.
    control.delete("/_mock/requests")
    chat(gpt(mock_server, name + "-seen"))
    control.delete(f"/_mock/scenarios/{name}-seen")
    paths = [r["path"] for r in control.get("/_mock/requests").json()]
    assert paths == [f"/_s/{name}-seen/v1/chat/completions"]


def test_an_unknown_path_under_a_prefix_is_a_404(control: httpx.Client, name: str) -> None:
    response = control.post(f"/_s/{name}/v1/nothing", json={})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert control.get(f"/_s/{name}").status_code == 404


# --- latency, time to first token, hang ----------------------------------------------------


def test_latency_applies_to_that_scenario_only(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    put(control, name, latency_ms=300)
    slow, fast = gpt(mock_server, name), gpt(mock_server, name + "-fast")
    try:
        started = time.perf_counter()
        chat(slow)
        slow_took = time.perf_counter() - started
        started = time.perf_counter()
        chat(fast)
        fast_took = time.perf_counter() - started
    finally:
        control.delete(f"/_mock/scenarios/{name}-fast")
    assert slow_took >= 0.3
    assert fast_took < 0.2
    # The request's own knobs win over the scenario's.
    started = time.perf_counter()
    slow.chat.completions.create(
        model="m", messages=MESSAGES, extra_body={"mock": {"latency_ms": 0}}
    )
    assert time.perf_counter() - started < 0.2


async def test_ttft_delays_the_first_stream_byte(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    put(control, name, ttft_ms=400)
    async with httpx.AsyncClient(base_url=mock_server.url, timeout=10) as http:
        started = time.perf_counter()
        async with http.stream(
            "POST",
            f"/_s/{name}/v1/messages",
            headers=CLAUDE,
            json={"model": "c", "max_tokens": 8, "messages": MESSAGES, "stream": True},
        ) as response:
            first = await anext(response.aiter_raw())
            took = time.perf_counter() - started
            assert response.status_code == 200
            assert first.startswith(b"event: message_start")
    assert took >= 0.4


def test_hang_times_out_the_client(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    put(control, name, fail="hang", fail_times=1)
    client = gpt(mock_server, name, timeout=0.5)
    with pytest.raises(openai.APITimeoutError):
        chat(client)
    assert chat(client)
    assert view(control, name)["outcomes"] == {"hang": 1, "ok": 1}


# --- streams cut after their first bytes -----------------------------------------------------


@pytest.mark.parametrize(
    ("fail", "chunks"),
    [
        ("drop", 1),
        # A dialect without error events: `stream_error` is a drop there.
        ("stream_error", 2),
    ],
)
def test_an_openai_stream_is_cut_after_its_first_chunks(
    mock_server: RunningServer, control: httpx.Client, name: str, fail: str, chunks: int
) -> None:
    put(control, name, fail=fail, fail_after_chunks=chunks)
    received: list[object] = []
    stream = gpt(mock_server, name).chat.completions.create(
        model="m", messages=MESSAGES, stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        received.extend(stream)
    assert len(received) == chunks
    assert view(control, name)["outcomes"] == {"drop": 1}


def test_anthropic_stream_error_event_after_the_first_event(
    control: httpx.Client, name: str
) -> None:
    put(control, name, fail="stream_error", fail_after_chunks=1)
    response = control.post(
        f"/_s/{name}/v1/messages",
        headers=CLAUDE,
        json={"model": "c", "max_tokens": 8, "messages": MESSAGES, "stream": True},
    )
    assert response.status_code == 200
    events = sse_events(response.content)
    assert [e for e, _ in events] == ["message_start", "error"]
    assert '"overloaded_error"' in events[-1][1]


def test_gemini_stream_error_after_the_first_chunk(control: httpx.Client, name: str) -> None:
    put(control, name, fail="stream_error", fail_after_chunks=1)
    response = control.post(
        f"/_s/{name}/v1beta/models/{GEMINI}:streamGenerateContent?alt=sse",
        headers={"x-goog-api-key": "k"},
        json=GEMINI_BODY,
    )
    assert response.status_code == 200
    # Google frames its events with CRLF.
    events = sse_events(response.content.replace(b"\r\n", b"\n"))
    assert len(events) == 2
    assert '"candidates"' in events[0][1]
    assert '"INTERNAL"' in events[1][1]


# --- fail_rate with a seed -------------------------------------------------------------------


def _expected_failures(seed: int, rate: float, requests: int) -> int:
    draws = random.Random(seed)
    return sum(draws.random() < rate for _ in range(requests))


async def test_fail_rate_with_a_seed_is_reproducible(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    expected = _expected_failures(7, 0.3, 60)
    assert 5 < expected < 40
    counts = []
    async with httpx.AsyncClient(base_url=mock_server.url, timeout=10) as http:
        for _ in range(2):
            put(control, name, fail=500, fail_rate=0.3, seed=7)
            before = view(control, name)["injected"]
            # Concurrent: one worker's decisions are atomic, whatever the interleaving.
            responses = await asyncio.gather(
                *(
                    http.post(
                        f"/_s/{name}/v1/chat/completions",
                        headers={"authorization": "Bearer k"},
                        json={"model": "m", "messages": MESSAGES},
                    )
                    for _ in range(60)
                )
            )
            failed = sum(r.status_code == 500 for r in responses)
            assert sum(r.status_code == 200 for r in responses) == 60 - failed
            assert view(control, name)["injected"] - before == failed
            counts.append(failed)
    assert counts == [expected, expected]


async def test_fail_times_holds_under_concurrency(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    put(control, name, fail=503, fail_times=5, latency_ms=20)
    async with httpx.AsyncClient(base_url=mock_server.url, timeout=10) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    f"/_s/{name}/v1/messages",
                    headers=CLAUDE,
                    json={"model": "c", "max_tokens": 4, "messages": MESSAGES},
                )
                for _ in range(30)
            )
        )
    assert sorted(r.status_code for r in responses) == [200] * 25 + [503] * 5
    assert view(control, name)["outcomes"] == {"503": 5, "ok": 25}


# --- run-time switches and the control endpoints ---------------------------------------------


def test_runtime_switch_counters_and_delete(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    client = gpt(mock_server, name)
    put(control, name, fail=500)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            chat(client)
    healed = put(control, name)
    assert healed["behaviour"] == {}
    assert healed["requests"] == 3
    assert chat(client)
    put(control, name, fail="503")
    with pytest.raises(openai.InternalServerError) as caught:
        chat(client)
    assert caught.value.status_code == 503
    seen = view(control, name)
    assert seen == {
        "name": name,
        "behaviour": {"fail": "503"},
        "requests": 5,
        "injected": 4,
        "outcomes": {"500": 3, "ok": 1, "503": 1},
        "fail_times_left": None,
    }
    assert name in control.get("/_mock/scenarios").json()
    assert control.delete(f"/_mock/scenarios/{name}").json() == {"deleted": True}
    assert control.get(f"/_mock/scenarios/{name}").status_code == 404
    assert chat(client)  # the prefix still routes: a fresh, empty scenario


def test_delete_all(control: httpx.Client, name: str) -> None:
    put(control, name, fail=500)
    put(control, name + "-2", fail=500)
    assert control.delete("/_mock/scenarios").json() == {"deleted": True}
    assert control.get("/_mock/scenarios").json() == {}


@pytest.mark.parametrize(
    ("behaviour", "param"),
    [
        ({"fail": "418"}, "fail"),
        ({"fail_rate": 1.5}, "fail_rate"),
        ({"fail_times": -1}, "fail_times"),
        ({"latency": 5}, "mock.latency"),
        ({"status_body": {"body": {}}}, "status_body"),
    ],
)
def test_a_wrong_behaviour_is_refused(
    control: httpx.Client, name: str, behaviour: dict[str, Any], param: str
) -> None:
    response = control.put(f"/_mock/scenarios/{name}", json=behaviour)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert control.get(f"/_mock/scenarios/{name}").status_code == 404


# --- verbatim error answers (context window, content filter) ---------------------------------


def test_status_body_context_length_exceeded(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    error = {
        "message": "This model's maximum context length is 128000 tokens. However, your "
        "messages resulted in 130000 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
    put(control, name, status_body={"status": 400, "body": {"error": error}}, fail_times=1)
    with pytest.raises(openai.BadRequestError) as caught:
        chat(gpt(mock_server, name))
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.response.headers["x-request-id"].startswith("req_")
    assert view(control, name)["outcomes"] == {"400": 1}


# --- the listings and the other dialects' roots ----------------------------------------------


def test_listings_fail_in_their_dialect(control: httpx.Client, name: str) -> None:
    put(control, name, fail="529")
    openai_side = control.get(f"/_s/{name}/v1/models", headers={"authorization": "Bearer k"})
    assert openai_side.status_code == 503
    assert openai_side.json()["error"]["code"] == "service_unavailable"
    anthropic_side = control.get(f"/_s/{name}/v1/models", headers=CLAUDE)
    assert anthropic_side.status_code == 529
    assert anthropic_side.json()["error"]["type"] == "overloaded_error"
    gemini_side = control.get(f"/_s/{name}/v1beta/models", headers={"x-goog-api-key": "k"})
    assert gemini_side.status_code == 503
    assert gemini_side.json()["error"]["status"] == "UNAVAILABLE"
    assert view(control, name)["outcomes"] == {"503": 2, "529": 1}


def test_cohere_and_azure_under_a_prefix(control: httpx.Client, name: str) -> None:
    put(control, name, fail=429, fail_times=2, retry_after="3")
    cohere = control.post(
        f"/_s/{name}/v2/chat",
        headers={"authorization": "Bearer k"},
        json={"model": "command-r", "messages": MESSAGES},
    )
    assert cohere.status_code == 429
    assert set(cohere.json()) == {"id", "message"}
    azure = control.post(
        f"/_s/{name}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        headers={"api-key": "k"},
        json={"messages": MESSAGES},
    )
    assert azure.status_code == 429
    assert azure.headers["retry-after"] == "3"
    ollama = control.post(
        f"/_s/{name}/api/chat", json={"model": "llama3", "messages": MESSAGES, "stream": False}
    )
    assert ollama.status_code == 200
    assert ollama.json()["done"] is True


def test_bedrock_signed_under_a_prefix(mock_server: RunningServer, name: str) -> None:
    with httpx.Client(base_url=mock_server.url) as control:
        put(control, name, fail=429, fail_times=1)
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=f"{mock_server.url}/_s/{name}",
        region_name="us-west-2",
        aws_access_key_id="AKIDPALISADETEST",
        aws_secret_access_key=MockSettings.aws_secret_access_key,
        # Not `max_attempts`, which botocore's standard mode reads as retries.
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    messages: Any = [{"role": "user", "content": [{"text": "hi"}]}]
    with pytest.raises(ClientError) as caught:
        client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=messages)
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    answer = client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=messages)
    assert answer["output"]["message"]["content"]


def test_reset_headers_parse_as_rfc_3339() -> None:
    from palisade.mock.ratelimit import anthropic_headers, duration, openai_headers

    assert [duration(s) for s in (0.25, 1, 1.5, 90, 360)] == [
        "250ms",
        "1s",
        "1.5s",
        "1m30s",
        "6m0s",
    ]
    reset = datetime.fromisoformat(anthropic_headers("1")["anthropic-ratelimit-requests-reset"])
    assert reset > datetime.now(UTC)
    # An HTTP date is passed on alone: no reset can be derived from it.
    assert openai_headers("Wed, 21 Oct 2015 07:28:00 GMT") == {
        "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"
    }


def test_context_length_and_content_filter_in_openai_format(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    client = gpt(mock_server, name)
    put(control, name, fail="context_length", fail_times=1)
    with pytest.raises(openai.BadRequestError) as too_long:
        client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert too_long.value.code == "context_length_exceeded"
    assert too_long.value.param == "messages"
    put(control, name, fail="content_filter", fail_times=1)
    with pytest.raises(openai.BadRequestError) as filtered:
        chat(client)
    assert filtered.value.code == "content_filter"
    body: Any = filtered.value.body
    assert body["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    # Also a per-request knob, as every failure is.
    with pytest.raises(openai.BadRequestError) as knob:
        gpt(mock_server, None).chat.completions.create(
            model="m", messages=MESSAGES, extra_body={"mock": {"fail": "content_filter"}}
        )
    assert knob.value.code == "content_filter"


def test_context_length_and_content_filter_in_anthropic_format(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    client = claude(mock_server, name)
    put(control, name, fail="context_length", fail_times=1)
    with pytest.raises(anthropic.BadRequestError) as too_long:
        client.messages.create(model="c", max_tokens=8, messages=MESSAGES)
    body: Any = too_long.value.body
    assert body["error"]["message"].startswith("prompt is too long: ")
    put(control, name, fail="content_filter", fail_times=1)
    with (
        pytest.raises(anthropic.BadRequestError) as filtered,
        client.messages.stream(model="c", max_tokens=8, messages=MESSAGES) as stream,
    ):
        stream.get_final_message()
    body = filtered.value.body
    assert body["error"] == {
        "type": "invalid_request_error",
        "message": "Output blocked by content filtering policy",
    }


def test_context_length_and_a_blocked_prompt_in_gemini_format(
    mock_server: RunningServer, control: httpx.Client, name: str
) -> None:
    client = gemini(mock_server, name)
    put(control, name, fail="context_length", fail_times=1)
    with pytest.raises(genai_errors.ClientError) as too_long:
        client.models.generate_content(model=GEMINI, contents="hi")
    assert too_long.value.code == 400
    assert too_long.value.status == "INVALID_ARGUMENT"
    assert "input token count" in (too_long.value.message or "")
    put(control, name, fail="content_filter", fail_times=2)
    blocked = client.models.generate_content(model=GEMINI, contents="hi")
    assert not blocked.candidates
    assert blocked.prompt_feedback is not None
    assert blocked.prompt_feedback.block_reason == "SAFETY"
    chunks = list(client.models.generate_content_stream(model=GEMINI, contents="hi"))
    assert len(chunks) == 1
    assert chunks[0].prompt_feedback is not None
    assert chunks[0].prompt_feedback.block_reason == "SAFETY"
    assert client.models.generate_content(model=GEMINI, contents="hi").text


def test_a_failure_an_api_lacks_is_its_400(control: httpx.Client, name: str) -> None:
    put(control, name, fail="content_filter")
    response = control.post(
        f"/_s/{name}/v2/chat",
        headers={"authorization": "Bearer k"},
        json={"model": "command-r", "messages": MESSAGES},
    )
    assert response.status_code == 400
    assert "content_filter" in response.json()["message"]
    assert view(control, name)["outcomes"] == {"refused": 1}


def test_the_test_helpers(mock_server: RunningServer) -> None:
    from tests.helpers.mock_scenarios import reset_scenarios, scenario, scenario_url, set_scenario

    name = "helper-" + uuid.uuid4().hex[:6]
    assert set_scenario(mock_server.url, name, fail=500, fail_times=1)["fail_times_left"] == 1
    client = openai.OpenAI(
        base_url=scenario_url(mock_server.url, name, "/v1"), api_key="k", max_retries=0
    )
    with pytest.raises(openai.InternalServerError):
        chat(client)
    assert chat(client)
    assert scenario(mock_server.url, name)["outcomes"] == {"500": 1, "ok": 1}
    reset_scenarios(mock_server.url)
    with httpx.Client(base_url=mock_server.url) as http:
        assert http.get(f"/_mock/scenarios/{name}").status_code == 404


def test_scenarios_preloaded_in_every_worker(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"down": {"fail": 503}, "slow": {"latency_ms": 1}}))
    port = free_port()
    argv = mock_argv(port, "--workers", "2", "--scenarios", str(path))
    with start_process_server(argv, port, workers=2) as server:
        for _ in range(6):
            # A new connection each time, so that both workers answer.
            with gpt(server, "down") as client, pytest.raises(openai.InternalServerError):
                chat(client)
            with gpt(server, "slow") as client:
                assert chat(client)


def test_a_wrong_scenarios_file_stops_the_mock(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"down": {"fail": "teapot"}}))
    done = subprocess.run(
        mock_argv(free_port(), "--scenarios", str(path)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert f"{path}: scenario 'down': fail must be one of" in done.stderr
