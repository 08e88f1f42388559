"""Prometheus metrics: what each request did, per proxy, provider, model and agent.

The metrics live in the default registry, like any other module's. With several Granian
workers, `palisade serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory before the
workers start: every worker then keeps its values in memory-mapped files there, and `/metrics`
(answered by whichever worker) adds up all workers' files, the other modules' counters included.

Label values that come from clients (agent ids, model names) are capped per worker: the first
`max_*_labels` distinct values are kept, later ones are reported as `other`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from palisade.config import MetricsConfig
from palisade.guardrails.decisions import Decision
from palisade.pricing import Usage

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OTHER = "other"

_CALL = ("proxy", "provider", "model", "external_agent_id")
_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter("llm_requests", "Requests through the gateway.", [*_CALL, "status_code"])
DURATION = Histogram(
    "llm_request_duration_seconds",
    "Time from the request's arrival to the last byte of the answer.",
    [*_CALL, "status_code"],
    buckets=_DURATION_BUCKETS,
)
TTFT = Histogram(
    "llm_time_to_first_token_seconds",
    "Time from a streamed request's arrival to the provider's first chunk.",
    _CALL,
    buckets=_TTFT_BUCKETS,
)
TOKENS = Counter(
    "llm_tokens", "Tokens, by type (input, output, cached, reasoning).", [*_CALL, "type"]
)
COST = Counter("llm_cost_usd", "Cost of the calls in USD, from the price table.", _CALL)
UNPRICED = Counter(
    "llm_unpriced_requests",
    "Calls that used tokens on a model the price table does not know (costed 0).",
    ["provider", "model"],
)
GUARDRAIL_ACTIONS = Counter(
    "llm_guardrail_actions",
    "Guardrail decisions, by guardrail, action and direction.",
    ["proxy", "guardrail", "action", "direction"],
)
RATE_LIMITED = Counter(
    "llm_rate_limited",
    "Requests refused by a rate limit or budget (outcome: rate_limited, budget_exceeded).",
    ["proxy", "model", "external_agent_id", "outcome"],
)
UPSTREAM_ERRORS = Counter(
    "llm_upstream_errors",
    "Provider errors: an error status, no connection, a timeout or a broken stream.",
    ["proxy", "provider", "model", "status_code"],
)
EXECUTIONS = Counter(
    "agent_executions",
    "Distinct agent executions (execution ids), each counted once.",
    ["proxy", "external_agent_id"],
)
RECORDS_WRITTEN = Counter("palisade_interactions_written", "Interaction records written.")
RECORDS_DROPPED = Counter(
    "palisade_interactions_dropped",
    "Interaction records lost: queue_full, write_error, serialize_error.",
    ["reason"],
)

_RATE_OUTCOMES = frozenset({"rate_limited", "budget_exceeded"})
_UPSTREAM_CODES = {
    "upstream_unreachable": "502",
    "upstream_timeout": "504",
    "upstream_stream_interrupted": "200",
}
_FALLBACK_EXECUTIONS = 100_000


class LabelCap:
    """The first `limit` distinct values pass; the rest become `other`."""

    __slots__ = ("_limit", "_seen")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str | None) -> str:
        if value is None:
            return ""
        if value in self._seen:
            return value
        if len(self._seen) < self._limit:
            self._seen.add(value)
            return value
        return OTHER


class Metrics:
    def __init__(self, config: MetricsConfig) -> None:
        self.agent = LabelCap(config.max_agent_labels)
        self.model = LabelCap(config.max_model_labels)
        # Label lookups take a lock and a tuple build each; a call's children are cached.
        self._calls: dict[tuple[str, ...], tuple[Any, ...]] = {}
        self._executions: OrderedDict[str, None] = OrderedDict()

    def observe(
        self,
        *,
        proxy: str,
        provider: str,
        model: str | None,
        agent_id: str | None,
        status: int,
        duration_s: float,
        ttft_s: float | None,
        usage: Usage,
        cost_usd: float | None,
        upstream_status: int | None,
        error_code: str | None,
        limit_outcome: str | None,
        decisions: list[Decision],
    ) -> None:
        model_label = self.model(model)
        agent = self.agent(agent_id)
        key = (proxy, provider, model_label, agent, str(status))
        children = self._calls.get(key)
        if children is None:
            call = key[:4]
            children = (
                REQUESTS.labels(*key),
                DURATION.labels(*key),
                TTFT.labels(*call),
                *(TOKENS.labels(*call, t) for t in ("input", "output", "cached", "reasoning")),
                COST.labels(*call),
            )
            if len(self._calls) < 10_000:
                self._calls[key] = children
        requests, duration, ttft, t_in, t_out, t_cached, t_reasoning, cost = children
        requests.inc()
        duration.observe(duration_s)
        if ttft_s is not None:
            ttft.observe(ttft_s)
        if usage.input_tokens:
            t_in.inc(usage.input_tokens)
        if usage.output_tokens:
            t_out.inc(usage.output_tokens)
        if usage.cached_tokens:
            t_cached.inc(usage.cached_tokens)
        if usage.reasoning_tokens:
            t_reasoning.inc(usage.reasoning_tokens)
        if cost_usd:
            cost.inc(cost_usd)
        elif cost_usd is None:
            UNPRICED.labels(provider, model_label).inc()
        for d in decisions:
            GUARDRAIL_ACTIONS.labels(proxy, d.guardrail, d.action, d.direction).inc()
        if limit_outcome in _RATE_OUTCOMES:
            RATE_LIMITED.labels(proxy, model_label, agent, limit_outcome).inc()
        if upstream_status is not None and upstream_status >= 400:
            UPSTREAM_ERRORS.labels(proxy, provider, model_label, str(upstream_status)).inc()
        elif error_code in _UPSTREAM_CODES:
            UPSTREAM_ERRORS.labels(proxy, provider, model_label, _UPSTREAM_CODES[error_code]).inc()

    def new_execution(self, proxy: str, agent_id: str | None) -> None:
        EXECUTIONS.labels(proxy, self.agent(agent_id)).inc()

    def execution_seen(self, execution_id: str, proxy: str, agent_id: str | None) -> None:
        """Without the interaction log there is no shared first-seen set: each worker counts
        the ids it has not seen lately, which overcounts an execution spread over workers."""
        if execution_id in self._executions:
            self._executions.move_to_end(execution_id)
            return
        self._executions[execution_id] = None
        if len(self._executions) > _FALLBACK_EXECUTIONS:
            self._executions.popitem(last=False)
        self.new_execution(proxy, agent_id)

    # WriterEvents
    def written(self, count: int) -> None:
        RECORDS_WRITTEN.inc(count)

    def dropped(self, count: int, reason: str) -> None:
        RECORDS_DROPPED.labels(reason).inc(count)


def exposition() -> tuple[bytes, str]:
    """The text exposition: every worker's values in multiprocess mode, else this process's."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
