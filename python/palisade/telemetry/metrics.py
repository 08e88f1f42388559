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
import threading
from bisect import bisect_left
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from palisade.config import MetricsConfig
from palisade.guardrails.decisions import Decision
from palisade.store.interactions import RECORD_COLUMNS

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OTHER = "other"

_CALL = ("proxy", "provider", "model", "external_agent_id")
_DURATION_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
_TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

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
ATTEMPTS = Counter(
    "llm_attempts",
    "Calls to providers, retries and fallbacks included (outcome: ok, rate_limited, "
    "server_error, timeout, connect_error, context_window_exceeded, content_filtered, "
    "client_error, unfinished).",
    ["provider", "outcome"],
)
FALLBACKS = Counter(
    "llm_fallbacks",
    "Requests moved on to the next model of their fallback chain.",
    ["model", "fallback_model"],
)
PROBES = Counter(
    "llm_probes",
    "Health probes of configured deployments (outcome: ok, rate_limited, server_error, "
    "timeout, connect_error, client_error).",
    ["deployment", "outcome"],
)
PROBE_DURATION = Histogram(
    "llm_probe_duration_seconds",
    "Time a health probe took, failed ones included.",
    ["deployment"],
    buckets=_TTFT_BUCKETS,
)
# Set by each worker on every change of its breakers (`upstream/breaker_sync.py`), the ones
# another worker's verdict forced included; across workers the most recent value wins: the
# workers share their breakers through Redis (more than one worker needs it), so the latest
# change is theirs all, and a worker that exited does not pin its last value as a max would.
BREAKER_STATE = Gauge(
    "llm_breaker_state",
    "Circuit breaker of each deployment listed under `models`: 0 closed, 1 half-open, 2 open.",
    ["deployment"],
    multiprocess_mode="mostrecent",
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
# What the metrics read of an interaction record's values, in this order.
_FIELDS = itemgetter(*map(RECORD_COLUMNS.index, (
    "proxy", "provider", "model", "served_model", "agent_id", "status", "latency_ms", "ttft_ms",
    "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "cost_usd",
    "upstream_status", "error_code", "limit_outcome",
)))  # fmt: skip


def _bump(others: dict[tuple[Any, ...], float], metric: Counter, *labels: str) -> None:
    key = (metric, *labels)
    others[key] = others.get(key, 0) + 1


class _Histogram:
    """Observations of one histogram child, added up between two flushes."""

    __slots__ = ("bounds", "buckets", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.buckets = [0] * (len(bounds) + 1)
        self.total = 0.0

    def add(self, amount: float) -> None:
        self.buckets[bisect_left(self.bounds, amount)] += 1
        self.total += amount

    def write(self, child: Any) -> None:
        # Histogram.observe writes its sum and one bucket per call; written here once per
        # flush instead, through the same value objects (prometheus-client 0.26 internals:
        # `_sum`, `_buckets` in `_upper_bounds` order, the last one +Inf).
        if not any(self.buckets):
            return
        child._sum.inc(self.total)
        for value, count in zip(child._buckets, self.buckets, strict=True):
            if count:
                value.inc(count)


class _Totals:
    """One label set's requests, durations, tokens and cost between two flushes."""

    __slots__ = ("cached", "cost", "duration", "inp", "out", "reasoning", "requests", "ttft")

    def __init__(self) -> None:
        self.requests = 0
        self.duration = _Histogram(_DURATION_BUCKETS)
        self.ttft = _Histogram(_TTFT_BUCKETS)
        self.inp = self.out = self.cached = self.reasoning = 0
        self.cost = 0.0

    def add(
        self,
        duration_s: float,
        ttft_s: float | None,
        inp: int,
        out: int,
        cached: int,
        reasoning: int,
        cost: float | None,
    ) -> None:
        self.requests += 1
        self.duration.add(duration_s)
        if ttft_s is not None:
            self.ttft.add(ttft_s)
        self.inp += inp
        self.out += out
        self.cached += cached
        self.reasoning += reasoning
        if cost:
            self.cost += cost

    def write(self, children: tuple[Any, ...]) -> None:
        requests, duration, ttft, t_in, t_out, t_cached, t_reasoning, cost = children
        requests.inc(self.requests)
        self.duration.write(duration)
        self.ttft.write(ttft)
        for child, amount in ((t_in, self.inp), (t_out, self.out), (t_cached, self.cached),
                              (t_reasoning, self.reasoning), (cost, self.cost)):  # fmt: skip
            if amount:
                child.inc(amount)


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
    """The request path only appends one tuple per request to a queue; a flusher thread (once
    a second, and before every scrape) adds them up and writes each label set's totals, so the
    per-request cost does not grow with the number of metrics, and in multiprocess mode the
    memory-mapped values are written once per label set and second, not per request."""

    FLUSH_INTERVAL_S = 1.0

    def __init__(self, config: MetricsConfig) -> None:
        self.agent = LabelCap(config.max_agent_labels)
        self.model = LabelCap(config.max_model_labels)
        self._pending: deque[tuple[Any, ...]] = deque()
        self._calls: dict[tuple[str, ...], tuple[Any, ...]] = {}
        self._executions: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()  # one flush at a time: the caps and caches are its own
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="palisade-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.flush()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.FLUSH_INTERVAL_S)
            self.flush()

    def observe(
        self,
        values: tuple[Any, ...],
        decisions: Sequence[Decision] = (),
        attempts: tuple[tuple[str, str, str | None], ...] = (),
    ) -> None:
        """One finished request, given as its interaction record's values (`RECORD_COLUMNS`
        order): the request path builds nothing for the metrics, the flusher picks out what
        they need."""
        # Atoms and tuples of atoms only: the collector stops tracking the queued tuples.
        # `attempts`: (deployment, outcome, next) of each call to a provider.
        if decisions:
            triples = tuple((d.guardrail, d.action, d.direction) for d in decisions)
            self._pending.append((values, triples, attempts))
        else:
            self._pending.append((values, (), attempts))

    def flush(self) -> None:
        with self._lock:
            calls: dict[tuple[str, ...], _Totals] = {}
            others: dict[tuple[Any, ...], float] = {}
            while self._pending:
                self._add(self._pending.popleft(), calls, others)
            for key, totals in calls.items():
                totals.write(self._children(key))
            for (metric, *labels), amount in others.items():
                metric.labels(*labels).inc(amount)

    def _children(self, key: tuple[str, ...]) -> tuple[Any, ...]:
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
        return children

    def _add(
        self,
        item: tuple[
            tuple[Any, ...],
            tuple[tuple[str, str, str], ...],
            tuple[tuple[str, str, str | None], ...],
        ],
        calls: dict[tuple[str, ...], _Totals],
        others: dict[tuple[Any, ...], float],
    ) -> None:
        values, decisions, attempts = item
        (
            proxy,
            provider,
            model,
            served_model,
            agent_id,
            status,
            latency_ms,
            ttft_ms,
            inp,
            out,
            cached,
            reasoning,
            cost_usd,
            upstream_status,
            error_code,
            limit_outcome,
        ) = _FIELDS(values)
        provider = provider or ""
        model_label = self.model(served_model or model)
        agent = self.agent(agent_id)
        key = (proxy, provider, model_label, agent, str(status))
        totals = calls.get(key)
        if totals is None:
            totals = calls[key] = _Totals()
        ttft_s = None if ttft_ms is None else ttft_ms / 1e3
        totals.add(latency_ms / 1e3, ttft_s, inp, out, cached, reasoning, cost_usd)
        if cost_usd is None:
            _bump(others, UNPRICED, provider, model_label)
        for guardrail, action, direction in decisions:
            _bump(others, GUARDRAIL_ACTIONS, proxy, guardrail, action, direction)
        if limit_outcome in _RATE_OUTCOMES:
            _bump(others, RATE_LIMITED, proxy, model_label, agent, limit_outcome)
        if upstream_status is not None and upstream_status >= 400:
            _bump(others, UPSTREAM_ERRORS, proxy, provider, model_label, str(upstream_status))
        elif error_code in _UPSTREAM_CODES:
            code = _UPSTREAM_CODES[error_code]
            _bump(others, UPSTREAM_ERRORS, proxy, provider, model_label, code)
        moved = False
        for deployment, outcome, step in attempts:
            at, _, to = deployment.partition(":")
            if moved:
                _bump(others, FALLBACKS, self.model(model), self.model(to))
            _bump(others, ATTEMPTS, at, outcome)
            moved = step == "fallback"

    def new_execution(self, proxy: str, agent_id: str | None) -> None:
        with self._lock:
            agent = self.agent(agent_id)
        EXECUTIONS.labels(proxy, agent).inc()

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


def breaker_gauge(deployment: str) -> Callable[[float], None]:
    """The setter of one deployment's `llm_breaker_state`."""
    setter: Callable[[float], None] = BREAKER_STATE.labels(deployment).set
    return setter


def exposition(metrics: Metrics | None = None) -> tuple[bytes, str]:
    """The text exposition: every worker's values in multiprocess mode, else this process's
    (this worker's pending observations written first)."""
    if metrics is not None:
        metrics.flush()
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
