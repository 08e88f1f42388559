"""Routing that survives providers (issue 18), through a real Granian gateway and the mock,
whose scenarios (`/_s/{name}/...`) make one deployment fail or slow while another behaves:
retries after the provider's Retry-After, a 500 served by another deployment, a stream that
falls over to another dialect before its first byte, a stream cut after it, the latency EMA,
the retry budget and the deadline."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.helpers.mock_scenarios import reset_scenarios, scenarios, set_scenario
from tests.helpers.prometheus import scrape
from tests.helpers.records import interaction
from tests.helpers.servers import free_port, start_process_server

MOCK_KEY = "mock-provider-key"
ADMIN = "routing-admin-token"
DEADLINE_S = 4.0


@dataclass
class Stack:
    url: str
    mock: str

    def client(self, **headers: str) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.url}/v1",
            api_key="client-key",
            max_retries=0,
            timeout=30,
            default_headers=headers,
        )

    def record(self, request_id: str) -> dict[str, Any]:
        """The interaction record of a request, once written."""
        return interaction(self.url, request_id, ADMIN)

    def requests_to(self, name: str) -> int:
        """Calls the deployment `name` received (a scenario never called does not exist)."""
        found = {n: v["requests"] for n, v in scenarios(self.mock).items()}
        return int(found.get(name, 0))


def _config(path: Path, port: int, mock: str) -> None:
    def openai_at(name: str) -> str:
        return f"{{base_url: {mock}/_s/{name}/v1, api_key: {MOCK_KEY}}}"

    path.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}}}
store: {{sqlite_path: {path.parent / "routing.db"}}}
auto_providers: false
admin: {{token: {ADMIN}}}
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
  a: {openai_at("a")}
  b: {openai_at("b")}
  solo: {openai_at("solo")}
  down: {openai_at("down")}
  slowa: {openai_at("slowa")}
  fastb: {openai_at("fastb")}
  cut: {openai_at("cut")}
  late: {openai_at("late")}
  spare: {openai_at("spare")}
  anth: {{kind: anthropic, base_url: {mock}/_s/anth/v1, api_key: {MOCK_KEY}}}
  ov: {{kind: anthropic, base_url: {mock}/_s/ov/v1, api_key: {MOCK_KEY}}}
  gem: {{kind: gemini, base_url: {mock}/_s/gem/v1beta, api_key: {MOCK_KEY}}}
routing:
  deadline_s: {DEADLINE_S}
  backoff_s: 0.05
  backoff_max_s: 0.2
  budget: {{ratio: 0.2, min_per_s: 10}}
  # Probes are off on every deployment below: the tests count the calls each one receives.
  # Breakers have their own tests (test_router_probes, test_router_breakers): here they must
  # not open while a test makes one deployment fail on purpose.
  breaker: {{consecutive_failures: 100, min_calls: 1000}}
  fallback_on: [connect_error, timeout, rate_limited, server_error, context_window_exceeded]
models:
  pair:
    deployments: [{{provider: a, priority: 1, probe: false}}, {{provider: b, probe: false}}]
  patient:
    retries: 1
    deployments: [{{provider: solo, probe: false}}]
  outage:
    retries: 2
    deployments: [{{provider: down, probe: false}}]
  quick:
    strategy: latency
    deployments: [{{provider: slowa, probe: false}}, {{provider: fastb, probe: false}}]
  chain:
    deployments: [{{provider: a, probe: false}}]
    fallbacks: [anth:claude-haiku-4-5]
  cutoff:
    deployments: [{{provider: cut, probe: false}}]
    fallbacks: [spare:gpt-4o-mini]
  slowstart:
    deployments: [{{provider: late, first_byte_timeout_s: 0.5, probe: false}}]
    fallbacks: [anth:claude-haiku-4-5]
  toolong:
    deployments: [{{provider: a, probe: false}}]
    fallbacks: [anth:claude-haiku-4-5]
  overload:
    deployments: [{{provider: ov, model: claude-haiku-4-5, probe: false}}]
    fallbacks: [spare:gpt-4o-mini]
  guarded:
    deployments: [{{provider: gem, model: gemini-2.5-flash, probe: false}}]
    fallbacks: [spare:gpt-4o-mini]
"""
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("routing")
    mock_port, port = free_port(), free_port()
    mock = f"http://127.0.0.1:{mock_port}"
    config = tmp / "palisade.yaml"
    _config(config, port, mock)
    palisade = [sys.executable, "-m", "palisade.cli"]
    with (
        start_process_server(
            [*palisade, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY],
            mock_port,
        ),
        start_process_server([*palisade, "serve", "--config", str(config)], port),
    ):
        yield Stack(url=f"http://127.0.0.1:{port}", mock=mock)


@pytest.fixture(autouse=True)
def _fresh(stack: Stack) -> None:
    reset_scenarios(stack.mock)


def _ask(client: openai.OpenAI, model: str, text: str = "hi") -> Any:
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}]
    )


def test_a_429_is_retried_after_its_retry_after_and_succeeds(stack: Stack) -> None:
    set_scenario(stack.mock, "solo", fail="429", fail_times=1, retry_after="1")
    started = time.monotonic()
    raw = _ask(stack.client(), "patient")
    took = time.monotonic() - started
    assert raw.http_response.status_code == 200
    assert raw.parse().choices[0].message.content
    assert took >= 1.0  # the gateway waited what the provider asked for, not its own backoff
    assert raw.headers["x-palisade-attempts"] == "2"
    assert stack.requests_to("solo") == 2
    attempts = stack.record(raw.headers["x-palisade-request-id"])["attempts"]
    assert [(a["status"], a["outcome"], a["next"]) for a in attempts] == [
        (429, "rate_limited", "retry"),
        (200, "ok", None),
    ]


def test_a_500_on_one_deployment_is_served_by_the_other(stack: Stack) -> None:
    set_scenario(stack.mock, "a", fail="500")
    raw = _ask(stack.client(), "pair")
    assert raw.http_response.status_code == 200
    assert raw.headers["x-palisade-served-by"] == "b"
    assert raw.headers["x-palisade-served-model"] == "pair"
    assert raw.headers["x-palisade-attempts"] == "2"
    assert stack.requests_to("a") == 1
    assert stack.requests_to("b") == 1
    record = stack.record(raw.headers["x-palisade-request-id"])
    assert record["provider"] == "b"
    assert [(a["deployment"], a["outcome"]) for a in record["attempts"]] == [
        ("a:pair", "server_error"),
        ("b:pair", "ok"),
    ]


def test_a_stream_that_fails_before_its_first_byte_falls_over_to_another_dialect(
    stack: Stack,
) -> None:
    set_scenario(stack.mock, "a", fail="500")
    client = stack.client()
    with client.chat.completions.with_streaming_response.create(
        model="chain",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        assert response.headers["x-palisade-served-by"] == "anth"
        assert response.headers["x-palisade-translated"].startswith("anthropic:")
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text  # a whole answer, in OpenAI's chunks, from the Anthropic-dialect mock
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)
    assert stack.requests_to("a") == 1
    assert stack.requests_to("anth") == 1
    record = stack.record(response.headers["x-palisade-request-id"])
    assert [(a["deployment"], a["next"]) for a in record["attempts"]] == [
        ("a:chain", "fallback"),
        ("anth:claude-haiku-4-5", None),
    ]
    assert record["served_model"] == "claude-haiku-4-5"


def test_a_stream_whose_first_event_is_an_overload_falls_over(stack: Stack) -> None:
    # Anthropic answers 200 and then reports the overload as the stream's `error` event.
    set_scenario(stack.mock, "ov", fail="stream_error", fail_after_chunks=0)
    client = stack.client()
    with client.chat.completions.with_streaming_response.create(
        model="overload", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        assert response.headers["x-palisade-served-by"] == "spare"
        chunks = list(response.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)
    assert stack.requests_to("ov") == 1
    assert stack.requests_to("spare") == 1
    record = stack.record(response.headers["x-palisade-request-id"])
    assert [
        (a["deployment"], a["status"], a["outcome"], a["next"]) for a in record["attempts"]
    ] == [
        ("ov:claude-haiku-4-5", 200, "server_error", "fallback"),
        ("spare:gpt-4o-mini", 200, "ok", None),
    ]


def test_a_refused_stream_that_may_not_fall_back_reaches_the_client_as_it_came(
    stack: Stack,
) -> None:
    # Gemini refuses the prompt in its stream's first event; `content_filtered` is not in this
    # config's `fallback_on`, so the refusal is the answer, relayed whole (translated).
    set_scenario(stack.mock, "gem", fail="content_filter")
    with stack.client().chat.completions.with_streaming_response.create(
        model="guarded", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        assert response.status_code == 200
        body = response.read()
    assert b'"finish_reason":"content_filter"' in body
    assert b'"model":null' not in body  # the stream named no model: the requested one
    assert body.endswith(b"data: [DONE]\n\n")
    assert stack.requests_to("gem") == 1
    assert stack.requests_to("spare") == 0
    record = stack.record(response.headers["x-palisade-request-id"])
    assert [(a["deployment"], a["outcome"], a["next"]) for a in record["attempts"]] == [
        ("gem:gemini-2.5-flash", "content_filtered", None)
    ]


def test_a_stream_without_a_first_token_in_time_falls_over(stack: Stack) -> None:
    set_scenario(stack.mock, "late", ttft_ms=3000)
    chunks = list(
        stack.client().chat.completions.create(
            model="slowstart", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert stack.requests_to("anth") == 1


def test_a_stream_cut_after_its_first_byte_ends_with_an_error_and_is_not_retried(
    stack: Stack,
) -> None:
    set_scenario(stack.mock, "cut", fail="drop", fail_after_chunks=2)
    client = stack.client()
    got: list[str] = []
    stream = client.chat.completions.create(
        model="cutoff", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    with pytest.raises(openai.APIError):
        got.extend(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert got  # the first bytes had reached the client
    assert stack.requests_to("cut") == 1
    assert stack.requests_to("spare") == 0  # no fallback after the first byte


def test_a_context_window_refusal_falls_back_when_configured(stack: Stack) -> None:
    set_scenario(stack.mock, "a", fail="context_length")
    raw = _ask(stack.client(), "toolong")
    assert raw.http_response.status_code == 200
    assert raw.headers["x-palisade-served-by"] == "anth"
    outcomes = [
        a["outcome"] for a in stack.record(raw.headers["x-palisade-request-id"])["attempts"]
    ]
    assert outcomes == ["context_window_exceeded", "ok"]


def test_a_client_error_is_not_retried(stack: Stack) -> None:
    refusal = {
        "error": {"message": "Invalid value for 'temperature'.", "type": "invalid_request_error"}
    }
    set_scenario(stack.mock, "a", fail="500", status_body={"status": 400, "body": refusal})
    with pytest.raises(openai.BadRequestError) as info:
        _ask(stack.client(), "pair")
    assert info.value.body == refusal["error"]  # as the provider wrote it
    assert stack.requests_to("a") == 1
    assert stack.requests_to("b") == 0


def test_latency_ema_moves_traffic_off_a_slow_deployment(stack: Stack) -> None:
    set_scenario(stack.mock, "slowa", latency_ms=200)
    client = stack.client()
    served = [_ask(client, "quick").headers["x-palisade-served-by"] for _ in range(50)]
    late = served[25:]
    assert late.count("fastb") >= 20, served
    assert stack.requests_to("slowa") < 15


def test_with_its_only_deployment_down_a_request_makes_its_attempts_and_ends_in_time(
    stack: Stack,
) -> None:
    set_scenario(stack.mock, "down", fail="503")
    client = stack.client()
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(
                model="outage", messages=[{"role": "user", "content": "hi"}]
            )
        assert info.value.status_code == 503
        headers = info.value.response.headers
        attempts = stack.record(headers["x-palisade-request-id"])["attempts"]
        assert headers["x-palisade-attempts"] == "3", attempts
        assert time.monotonic() - started < DEADLINE_S + 2
    assert stack.requests_to("down") == 9  # 1 + retries: 2, per request, no more


def test_attempt_metrics(stack: Stack) -> None:
    set_scenario(stack.mock, "a", fail="500")
    _ask(stack.client(), "pair")
    _ask(stack.client(), "chain")
    deadline = time.monotonic() + 10
    while True:
        metrics = scrape(stack.url)
        attempts = {k: v for k, v in metrics.items() if k[0] == "llm_attempts_total"}
        fallbacks = {k: v for k, v in metrics.items() if k[0] == "llm_fallbacks_total"}
        if attempts and fallbacks:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    outcomes = {dict(k[1]).get("outcome") for k in attempts}
    assert {"ok", "server_error"} <= outcomes
    assert any(dict(k[1]).get("fallback_model") == "claude-haiku-4-5" for k in fallbacks)


def test_a_model_reached_directly_in_one_call_carries_no_routing_headers(stack: Stack) -> None:
    raw = _ask(stack.client(), "b:gpt-4o-mini")
    assert raw.http_response.status_code == 200
    assert "x-palisade-attempts" not in raw.headers
    assert "x-palisade-served-by" not in raw.headers
    routed = _ask(stack.client(), "pair")  # a model under `models`: routing chose
    assert routed.headers["x-palisade-served-by"] == "a"
    assert routed.headers["x-palisade-attempts"] == "1"
