"""One span per call, exported to memory: the app runs in-process (Starlette's TestClient) so
that the test holds the exporter; the provider is the real mock in its own process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import parse_config
from palisade.store.interactions import get_interaction
from palisade.telemetry.tracing import Tracing
from tests.helpers.servers import free_port

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
AWS_KEY = "AKIA" + "Z3MHALSBQFH7XW2P"


@pytest.fixture
def traced(mock_port: int, tmp_path: Path) -> Iterator[tuple[TestClient, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    raw: dict[str, Any] = {
        "auto_providers": False,
        "store": {"sqlite_path": str(tmp_path / "t.db")},
        "providers": {
            "mock": {
                "base_url": f"http://127.0.0.1:{mock_port}/v1",
                "api_key": "mock-key",
                "models": ["gpt-*"],
            }
        },
        "guardrails": {"secrets": {"type": "secrets", "action": "block"}},
        "proxies": [{"name": "default"}, {"name": "Guarded", "guardrails": ["secrets"]}],
    }
    app = create_app(
        parse_config(raw, source="test", env={}), tracing=Tracing(SimpleSpanProcessor(exporter))
    )
    with TestClient(app) as client:
        yield client, exporter


def chat(client: TestClient, path: str = "/v1/chat/completions", **headers: str) -> Any:
    return client.post(
        path,
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi there."}]},
        headers=headers,
    )


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    """The call's span, once the gateway recorded its batch (every few milliseconds); its
    one attempt's child span, if it reached a provider, aside."""
    deadline = time.monotonic() + 5
    while not exporter.get_finished_spans() and time.monotonic() < deadline:
        time.sleep(0.005)
    [span] = [s for s in exporter.get_finished_spans() if not s.name.startswith("attempt ")]
    return span


def test_a_call_makes_one_span_with_the_genai_attributes_under_the_clients_trace(
    traced: tuple[TestClient, InMemorySpanExporter], tmp_path: Path
) -> None:
    client, exporter = traced
    answer = chat(
        client,
        traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01",
        **{
            "X-Archestra-Agent-Id": "planner",
            "X-Archestra-User-Id": "u-7",
            "X-Archestra-Session-Id": "conv-1",
            "X-Archestra-Execution-Id": "run-9",
        },
    )
    assert answer.status_code == 200
    usage = answer.json()["usage"]
    span = only_span(exporter)
    assert span.name == "chat gpt-4o"
    assert span.kind is SpanKind.CLIENT
    assert span.context is not None
    assert span.parent is not None
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    assert span.parent.is_remote
    attributes = dict(span.attributes or {})
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "mock",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o",
        "gen_ai.usage.input_tokens": usage["prompt_tokens"],
        "gen_ai.usage.output_tokens": usage["completion_tokens"],
        "gen_ai.conversation.id": "conv-1",
        "gen_ai.agent.id": "planner",
        "user.id": "u-7",
        "palisade.execution.id": "run-9",
        "palisade.proxy.id": "default",
        "http.response.status_code": 200,
    }
    assert {k: attributes.get(k) for k in expected} == expected
    assert "error.type" not in attributes
    assert span.status.status_code is StatusCode.UNSET
    assert span.end_time is not None
    assert span.start_time is not None
    assert span.end_time > span.start_time
    # The record names the trace.
    app_writer = client.app.state.gateway.recording.writer  # type: ignore[attr-defined]
    assert app_writer.flush()
    item = wait_record(str(tmp_path / "t.db"), answer.headers["x-palisade-request-id"])
    assert item["trace_id"] == TRACE_ID


def wait_record(path: str, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while (item := get_interaction(path, request_id)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return item


def test_without_traceparent_the_span_starts_a_trace(
    traced: tuple[TestClient, InMemorySpanExporter],
) -> None:
    client, exporter = traced
    assert chat(client).status_code == 200
    span = only_span(exporter)
    assert span.parent is None
    assert span.context is not None
    assert span.context.trace_id != int(TRACE_ID, 16)
    assert "gen_ai.conversation.id" not in (span.attributes or {})


def test_a_malformed_traceparent_is_ignored(
    traced: tuple[TestClient, InMemorySpanExporter],
) -> None:
    client, exporter = traced
    assert chat(client, traceparent="00-nothex-zz-01").status_code == 200
    assert only_span(exporter).parent is None


def test_a_blocked_call_is_an_error_span(
    traced: tuple[TestClient, InMemorySpanExporter],
) -> None:
    client, exporter = traced
    answer = client.post(
        "/v1/openai/guarded/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": f"key {AWS_KEY}"}]},
    )
    assert answer.status_code == 400
    span = only_span(exporter)
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "secret_detected"
    assert attributes["http.response.status_code"] == 400
    assert attributes["palisade.guardrail.actions"] == ("secrets:block",)
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
        0,
        0,
    )
    assert span.status.status_code is StatusCode.ERROR
    assert AWS_KEY not in str(attributes)


def test_tracing_is_off_without_an_endpoint() -> None:
    config = parse_config({}, source="test", env={})
    assert Tracing.from_config(config.tracing) is None


def test_each_attempt_is_a_child_span_naming_its_deployment_and_what_followed(
    mock_port: int, tmp_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    raw: dict[str, Any] = {
        "auto_providers": False,
        "store": {"sqlite_path": str(tmp_path / "t.db")},
        "providers": {
            "dead": {"base_url": f"http://127.0.0.1:{free_port()}/v1", "api_key": "k"},
            "mock": {"base_url": f"http://127.0.0.1:{mock_port}/v1", "api_key": "mock-key"},
        },
        # The dead one first (higher tier), then the mock.
        "models": {
            "routed": {
                "deployments": [
                    {"provider": "dead", "model": "gpt-4o", "priority": 1},
                    {"provider": "mock", "model": "gpt-4o"},
                ]
            }
        },
        "proxies": [{"name": "default"}],
    }
    app = create_app(
        parse_config(raw, source="test", env={}), tracing=Tracing(SimpleSpanProcessor(exporter))
    )
    with TestClient(app) as client:
        answer = client.post(
            "/v1/chat/completions",
            json={"model": "routed", "messages": [{"role": "user", "content": "Hi there."}]},
            headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
        )
        assert answer.status_code == 200
        deadline = time.monotonic() + 5
        while len(exporter.get_finished_spans()) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
    spans = exporter.get_finished_spans()
    [request] = [s for s in spans if s.name == "chat routed"]
    attempts = sorted((s for s in spans if s is not request), key=lambda s: s.start_time or 0)
    assert [s.name for s in attempts] == ["attempt dead:gpt-4o", "attempt mock:gpt-4o"]
    assert request.context is not None
    for child in attempts:
        assert child.parent is not None
        assert child.context is not None
        assert child.parent.span_id == request.context.span_id
        assert child.context.trace_id == request.context.trace_id == int(TRACE_ID, 16)
        assert request.start_time is not None
        assert request.end_time is not None
        assert child.start_time is not None
        assert child.end_time is not None
        assert request.start_time <= child.start_time <= child.end_time <= request.end_time
    failed, served = (dict(s.attributes or {}) for s in attempts)
    assert failed == {
        "palisade.deployment": "dead:gpt-4o",
        "gen_ai.provider.name": "dead",
        "palisade.attempt": 0,
        "palisade.attempt.outcome": "connect_error",
        "palisade.attempt.next": "retry",
        "error.type": "connect_error",
    }
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert served == {
        "palisade.deployment": "mock:gpt-4o",
        "gen_ai.provider.name": "mock",
        "palisade.attempt": 1,
        "http.response.status_code": 200,
        "palisade.attempt.outcome": "ok",
    }
    assert attempts[1].status.status_code is StatusCode.UNSET
