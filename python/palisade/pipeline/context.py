"""The state one request carries through the stages; each stage reads and fills its part."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from palisade._core import Masker
from palisade.config import ProxyConfig
from palisade.exchange import next_request_id
from palisade.guardrails.decisions import Decision
from palisade.guardrails.policy import ProxyGuards
from palisade.pricing import Usage
from palisade.providers.base import Surface
from palisade.providers.translation import Translation
from palisade.upstream.routing import Target

if TYPE_CHECKING:
    from palisade.upstream.deployment import Deployment
    from palisade.upstream.groups import Group

# A request whose proxy is not known yet (or does not exist) still gets a context, so that its
# error is recorded like any other.
NO_PROXY = ProxyGuards(ProxyConfig(id="", name=""))


class Attempt:
    """One call to a deployment (stage 6), as the record shows it."""

    __slots__ = ("closed", "deployment", "latency", "next", "outcome", "started", "status")

    def __init__(self, deployment: str, started: float) -> None:
        self.deployment = deployment
        self.started = started
        self.status: int | None = None
        # `ok`, a `routing` condition (`rate_limited`, `timeout`, ...), `client_error`; None
        # while it runs (or when the client left first).
        self.outcome: str | None = None
        self.latency: float | None = None
        # What the gateway did next: `retry`, `fallback`, or nothing (it was the answer).
        self.next: str | None = None
        # Its deployment's call is over (a failure moved on).
        self.closed = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "status": self.status,
            "outcome": self.outcome,
            "latency_ms": None if self.latency is None else round(self.latency * 1e3, 3),
            "next": self.next,
        }


@dataclass(slots=True)
class RequestContext:
    # The API the client speaks (its dialect and endpoint).
    surface: Surface
    guards: ProxyGuards = NO_PROXY
    raw_body: bytes = b""
    body: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    stream: bool = False
    target: Target | None = None
    # Stage 5: the model's group of deployments, the one of the current attempt, whether the
    # route pins a provider (no fallback leaves it), how far down the fallback chain it went,
    # and every attempt made (stage 6).
    group: Group | None = None
    deployment: Deployment | None = None
    pinned: bool = False
    chain_step: int = 0
    attempts: list[Attempt] | None = None
    # Set when the provider speaks another dialect than the client: the request and the answer
    # are translated on the way (guardrails judge the client's side of both).
    translation: Translation | None = None
    # The gateway asked the provider for stream usage on its own and must hide it.
    injected_stream_usage: bool = False
    # A whole answer, whose usage is read only when something asks for it (`usage`): with no
    # limit, record or metric on, nothing does (measured: 1 to 2 us per request otherwise).
    usage_source: dict[str, Any] | None = None
    _usage: Usage | None = None
    status: int | None = None
    request_id: str = field(default_factory=next_request_id)
    started: float = field(default_factory=time.perf_counter)
    first_chunk_at: float | None = None
    # Guardrails: what they decided, the placeholders to restore in the answer, whether a tool
    # result that is not trusted entered the conversation, and whether they rewrote the body.
    decisions: list[Decision] = field(default_factory=list)
    masker: Masker | None = None
    context_untrusted: bool = False
    body_changed: bool = False
    # Stage 2 (identity): who calls and on whose behalf. Limits, the interaction record, metrics
    # and traces read these; none of them ever holds a secret.
    proxy_id: str = ""
    auth_method: str = "none"  # none | virtual_key | provider_key | jwt | oauth
    key_id: str | None = None
    # The virtual key's own limits as stored with the key (`rpm`, `tpm`, `budget_usd`,
    # `budget_period`); stage 3 interprets them.
    key_limits: dict[str, Any] | None = None
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    execution_id: str | None = None
    # Stage 3 (limits): "allowed", "rate_limited", "budget_exceeded", "fail_open", and the
    # dedup role of this request: None, "first", "replay" (served from the stored answer).
    limit_outcome: str | None = None
    dedup: str | None = None
    # Stage 8 (account): tokens (provider usage, else counted) and cost.
    tokens_counted: bool = False
    cost_usd: float | None = None
    # The gateway-made error that ended the request, if any (`rate_limit_exceeded`, ...).
    error_code: str | None = None
    # Stage 9 (record): the body as it left for the provider (None: the request never got
    # that far), and a streamed answer's chunks as the client got them.
    forwarded_body: bytes | None = None
    # Fields the provider refuses, dropped from the body that left (`providers.quirks`).
    dropped: list[str] | None = None
    sent_chunks: list[bytes] | None = None
    # Model downgrade (`pipeline.downgrade`): the model the client asked for, when a rule sent
    # the request to a cheaper one (`model` names that one), and why.
    downgraded_from: str | None = None
    downgrade_reason: str | None = None

    @property
    def usage(self) -> Usage | None:
        source = self.usage_source
        if source is not None:
            self.usage_source = None
            self._usage = self.upstream_surface.usage(source)
        return self._usage

    @usage.setter
    def usage(self, value: Usage | None) -> None:
        self.usage_source = None
        self._usage = value

    @property
    def endpoint(self) -> str:
        return self.surface.endpoint

    @property
    def upstream_surface(self) -> Surface:
        """The API the provider speaks: where its usage and events are read."""
        return self.surface if self.translation is None else self.translation.upstream

    def outgoing_body(self) -> bytes:
        """The bytes that leave for the provider: the client's own bytes unless a stage changed
        the request (or it is translated), so an untouched request is forwarded exactly as
        sent."""
        target = self.target
        quirks = target.provider.quirks if target is not None else None
        if self.translation is not None:
            body = self.translation.request(self.body)
            if target is not None:
                self.translation.upstream.set_model(body, target.model)
            if quirks is not None:
                self.dropped = quirks.apply(body)
            return orjson.dumps(body)
        if quirks is not None:
            self.dropped = quirks.apply(self.body)
            if self.dropped:
                self.body_changed = True
        if target is not None and target.rewritten:
            self.surface.set_model(self.body, target.model)
        elif not (self.injected_stream_usage or self.body_changed):
            return self.raw_body
        return orjson.dumps(self.body)
