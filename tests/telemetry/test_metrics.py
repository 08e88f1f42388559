from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from palisade.config import MetricsConfig
from palisade.guardrails.decisions import Decision
from palisade.store.interactions import RECORD_COLUMNS
from palisade.telemetry.metrics import LabelCap, Metrics, exposition


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def record_values(**fields: Any) -> tuple[Any, ...]:
    """An interaction record's values (what `observe` takes), with these fields set."""
    defaults: dict[str, Any] = {
        "proxy": "unit",
        "provider": "p",
        "model": "gpt-4o",
        "status": 200,
        "latency_ms": 200.0,
        "input_tokens": 10,
        "output_tokens": 5,
        "cached_tokens": 2,
        "reasoning_tokens": 1,
        "cost_usd": 0.001,
        "upstream_status": 200,
    }
    values = {**defaults, **fields}
    assert set(values) <= set(RECORD_COLUMNS)
    return tuple(values.get(column) for column in RECORD_COLUMNS)


def observe(metrics: Metrics, decisions: tuple[Decision, ...] = (), **fields: Any) -> None:
    metrics.observe(record_values(**fields), decisions)
    metrics.flush()


def test_label_cap_keeps_the_first_values() -> None:
    cap = LabelCap(2)
    assert [cap(v) for v in ("a", "b", "c", "a", None, "d", "b")] == [
        "a",
        "b",
        "other",
        "a",
        "",
        "other",
        "b",
    ]


def test_agent_ids_beyond_the_cap_are_other() -> None:
    metrics = Metrics(MetricsConfig(max_agent_labels=2))
    base = {"proxy": "cap", "provider": "p", "model": "gpt-4o", "status_code": "200"}
    before = value("llm_requests_total", **base, external_agent_id="other")
    for agent in ("cap-a", "cap-b", "cap-c", "cap-d", "cap-a"):
        observe(metrics, proxy="cap", agent_id=agent)
    assert value("llm_requests_total", **base, external_agent_id="cap-a") == 2
    assert value("llm_requests_total", **base, external_agent_id="cap-b") == 1
    assert value("llm_requests_total", **base, external_agent_id="cap-c") == 0
    assert value("llm_requests_total", **base, external_agent_id="other") - before == 2


def test_one_call_moves_every_metric_it_should() -> None:
    metrics = Metrics(MetricsConfig())
    call = {"proxy": "one", "provider": "p", "model": "gpt-4o", "external_agent_id": "bot"}
    decision = Decision("pii-mask", "pii", "mask", "request", "messages[0].content")
    observe(
        metrics,
        proxy="one",
        agent_id="bot",
        status=200,
        latency_ms=300.0,
        ttft_ms=50.0,
        decisions=(decision, decision),
    )
    assert value("llm_requests_total", **call, status_code="200") == 1
    assert value("llm_request_duration_seconds_count", **call, status_code="200") == 1
    assert value("llm_request_duration_seconds_sum", **call, status_code="200") == 0.3
    assert value("llm_time_to_first_token_seconds_count", **call) == 1
    for kind, n in (("input", 10), ("output", 5), ("cached", 2), ("reasoning", 1)):
        assert value("llm_tokens_total", **call, type=kind) == n
    assert value("llm_cost_usd_total", **call) == 0.001
    actions = {"proxy": "one", "guardrail": "pii-mask", "action": "mask", "direction": "request"}
    assert value("llm_guardrail_actions_total", **actions) == 2


def test_the_model_label_is_the_served_model_when_known() -> None:
    metrics = Metrics(MetricsConfig())
    observe(metrics, proxy="served", model="gpt-4o", served_model="gpt-4o-2024-08-06")
    observe(metrics, proxy="served", model="gpt-4o", provider=None, status=401)
    labels = {"proxy": "served", "external_agent_id": ""}
    served = {**labels, "provider": "p", "model": "gpt-4o-2024-08-06", "status_code": "200"}
    assert value("llm_requests_total", **served) == 1
    refused = {**labels, "provider": "", "model": "gpt-4o", "status_code": "401"}
    assert value("llm_requests_total", **refused) == 1


def test_errors_limits_and_unpriced_models() -> None:
    metrics = Metrics(MetricsConfig())
    observe(
        metrics, proxy="err", status=502, upstream_status=None, error_code="upstream_unreachable"
    )
    observe(metrics, proxy="err", status=503, upstream_status=503)
    observe(
        metrics,
        proxy="err",
        status=429,
        upstream_status=None,
        error_code="rate_limit_exceeded",
        limit_outcome="rate_limited",
        agent_id="busy",
    )
    observe(metrics, proxy="err", model="mystery-1", cost_usd=None)
    errors = {"proxy": "err", "provider": "p", "model": "gpt-4o"}
    assert value("llm_upstream_errors_total", **errors, status_code="502") == 1
    assert value("llm_upstream_errors_total", **errors, status_code="503") == 1
    assert value("llm_upstream_errors_total", **errors, status_code="429") == 0
    limited = {"proxy": "err", "model": "gpt-4o", "external_agent_id": "busy"}
    assert value("llm_rate_limited_total", **limited, outcome="rate_limited") == 1
    assert value("llm_unpriced_requests_total", provider="p", model="mystery-1") == 1


def test_executions_without_the_log_are_counted_once_per_worker() -> None:
    metrics = Metrics(MetricsConfig())
    for run in ("r1", "r2", "r1", "r1", "r3"):
        metrics.execution_seen(run, "exec", "agent-x")
    assert value("agent_executions_total", proxy="exec", external_agent_id="agent-x") == 3


def test_the_exposition_parses() -> None:
    body, content_type = exposition()
    assert content_type.startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    assert {"llm_requests", "llm_tokens", "agent_executions", "llm_cost_usd"} <= names


def test_batched_histograms_match_what_observe_would_write() -> None:
    metrics = Metrics(MetricsConfig())
    # The record holds milliseconds; the histogram, seconds.
    latencies_ms = [5.0, 10.0, 10.0001, 300.0, 300_000.0, 1_000_000.0]
    durations = [ms / 1e3 for ms in latencies_ms]
    assert durations[1] == 0.01  # exactly the bucket's bound
    for ms in latencies_ms:
        metrics.observe(
            record_values(proxy="hist", model="m", latency_ms=ms, input_tokens=0, cost_usd=0.0)
        )
    metrics.flush()
    labels = {"proxy": "hist", "provider": "p", "model": "m", "external_agent_id": ""}
    labels["status_code"] = "200"
    bucket = "llm_request_duration_seconds_bucket"
    assert value(bucket, **labels, le="0.01") == 2  # a bound counts in its own bucket
    assert value(bucket, **labels, le="0.025") == 3
    assert value(bucket, **labels, le="0.5") == 4
    assert value(bucket, **labels, le="300.0") == 5
    assert value(bucket, **labels, le="+Inf") == 6
    assert value("llm_request_duration_seconds_count", **labels) == 6
    assert value("llm_request_duration_seconds_sum", **labels) == sum(durations)
    del labels["status_code"]
    assert value("llm_time_to_first_token_seconds_count", **labels) == 0
