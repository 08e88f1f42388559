"""`routing` and `models`: how a model name reaches a provider when one call is not enough:
deployments, retries, fallback chains, balancing, circuit breakers and health probes.

A model listed under `models` is a group of deployments (a provider and its name for the
model, with weight, capacity, timeouts and priority); a name not listed reaches one provider as
before (`provider:model` or a provider's `models` patterns) and is a group of one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field
from pydantic.dataclasses import dataclass

from palisade.config.errors import Problem
from palisade.config.fields import (
    SECTION,
    Flag,
    Fraction,
    Int,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    RequiredText,
    Text,
    key,
)
from palisade.providers.provider import ProviderConfig

# Why an attempt failed, as retry and fallback rules name it.
Condition = Literal[
    "connect_error",
    "timeout",
    "rate_limited",
    "server_error",
    "context_window_exceeded",
    "content_filtered",
]
CONDITIONS: tuple[Condition, ...] = Condition.__args__  # type: ignore[attr-defined]
Strategy = Literal["weighted", "least_busy", "latency"]

_TRANSIENT: list[Condition] = ["connect_error", "timeout", "rate_limited", "server_error"]


@dataclass(frozen=True, config=SECTION)
class BreakerConfig:
    consecutive_failures: PositiveInt = key(5, "failures in a row that open a deployment's breaker")
    failure_rate: Fraction = key(
        0.5, "share of failed calls in `window_s` that opens it (from `min_calls` calls on)"
    )
    min_calls: PositiveInt = key(20, "calls in `window_s` before `failure_rate` applies")
    window_s: PositiveFloat = key(30.0, "the window `failure_rate` is counted over")
    cooldown_s: PositiveFloat = key(
        30.0,
        "how long an open breaker skips its deployment; then one trial call (or probe) is let "
        "through (half-open): success closes it, failure opens it again",
    )
    sync_interval_s: PositiveFloat = key(
        1.0,
        "with `store.redis_url`: how often a worker reads the breakers the other workers and "
        "replicas opened (a breaker a worker opens is written at once)",
    )


@dataclass(frozen=True, config=SECTION)
class RetryBudgetConfig:
    ratio: NonNegativeFloat = key(
        0.2,
        "retries and fallbacks allowed per request that could make them (a model with retries "
        "or a fallback chain), on average over the last 10 s",
    )
    min_per_s: NonNegativeFloat = key(
        10.0, "retries and fallbacks allowed per second whatever the traffic"
    )


@dataclass(frozen=True, config=SECTION)
class ProbeConfig:
    interval_s: PositiveFloat = key(15.0, "time between two probes of one deployment")
    timeout_s: PositiveFloat = key(5.0, "a probe slower than this failed")


@dataclass(frozen=True, config=SECTION)
class RoutingConfig:
    retries: NonNegativeInt | None = key(
        None,
        "extra attempts after the first, across the model's deployments (a retry prefers a "
        "deployment not tried yet); per model in `models`",
        shown="one per extra deployment (0 for a model with one)",
    )
    retry_on: list[Condition] = key(
        _TRANSIENT,
        "what is retried: `connect_error`, `timeout` (before the first byte), `rate_limited` "
        "(429), `server_error` (5xx, 529), `context_window_exceeded`, `content_filtered`",
    )
    fallback_on: list[Condition] = key(
        _TRANSIENT,
        "what moves a request on to the next model of its fallback chain (same names)",
    )
    backoff_s: PositiveFloat = key(
        0.25,
        "the first retry of the same deployment waits up to this (full jitter), doubling per "
        "retry up to `backoff_max_s`; a `Retry-After` or `x-ratelimit-reset-*` header wins",
    )
    backoff_max_s: PositiveFloat = key(8.0, "the longest wait between two attempts")
    deadline_s: PositiveFloat = key(
        30.0,
        "no attempt starts later than this after the request arrived, and no wait runs past it; "
        "then the last failure is the answer",
    )
    strategy: Strategy = key(
        "weighted",
        "how a model's deployments share its calls: `weighted` (random by `weight`), "
        "`least_busy` (fewest calls in flight in this worker), `latency` (lowest EMA of latency "
        "and time to first token over success rate)",
    )
    ema_alpha: Fraction = key(
        0.2,
        "weight of the newest call in a deployment's latency and success EMAs (0.2: a call 10 "
        "calls back weighs 0.8^10 = 11% of the newest); idle deployments also decay toward the "
        "others' figures with a 30 s half-life, so a recovered one gets calls again",
    )
    first_byte_timeout_s: PositiveFloat | None = key(
        None,
        "time to a stream's first byte (a non-stream answer's head) before the attempt counts "
        "as a timeout and the next one starts; per deployment too",
        shown="none",
    )
    budget: RetryBudgetConfig = Field(default_factory=RetryBudgetConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    probes: ProbeConfig = Field(default_factory=ProbeConfig)


class DeploymentSection(BaseModel):
    """One provider serving the model."""

    model_config = SECTION

    provider: RequiredText = key(..., "a configured provider's name")
    model: Text | None = key(None, "the provider's name for the model", shown="the model's name")
    weight: PositiveFloat = key(1.0, "share of calls under `strategy: weighted`")
    priority: Int = key(
        0, "higher tiers are used first; a lower tier only when no deployment above is usable"
    )
    rpm: PositiveInt | None = key(
        None, "calls per minute it takes (per worker); at capacity it is skipped", shown="none"
    )
    tpm: PositiveInt | None = key(
        None, "tokens per minute it takes (per worker); at capacity it is skipped", shown="none"
    )
    timeout_s: PositiveFloat | None = key(
        None, "longest silence between two reads (the provider's `read_timeout_s`)", shown="none"
    )
    first_byte_timeout_s: PositiveFloat | None = key(
        None, "`routing.first_byte_timeout_s` for this deployment", shown="routing's"
    )
    probe: Flag | None = key(
        None,
        "send it a health probe every `routing.probes.interval_s` (a model listing where the "
        "API has one, else a one-token call)",
        shown="on for providers on a private or loopback address, off otherwise (paid)",
    )


class ModelSection(BaseModel):
    """A model name clients send, and what serves it."""

    model_config = SECTION

    deployments: list[DeploymentSection] = key(
        [], "the deployments serving the name; empty: the provider that claims the name"
    )
    strategy: Strategy | None = key(None, "`routing.strategy` for this model", shown="routing's")
    retries: NonNegativeInt | None = key(
        None, "`routing.retries` for this model", shown="routing's"
    )
    fallbacks: list[Text] = key(
        [],
        "models tried in order when every deployment failed with a `fallback_on` condition, "
        "in any dialect (`anthropic:claude-sonnet-4-5`); a proxy's `fallbacks` win",
    )


@dataclasses.dataclass(frozen=True)
class DeploymentConfig:
    provider: str
    model: str
    weight: float = 1.0
    priority: int = 0
    rpm: int | None = None
    tpm: int | None = None
    timeout_s: float | None = None
    first_byte_timeout_s: float | None = None
    probe: bool | None = None

    @property
    def id(self) -> str:
        """Unique per provider and model: two groups listing the same one share its state."""
        return f"{self.provider}:{self.model}"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    name: str
    deployments: tuple[DeploymentConfig, ...] = ()
    strategy: Strategy | None = None
    retries: int | None = None
    fallbacks: tuple[str, ...] = ()


def build_models(
    sections: Mapping[str, ModelSection],
    providers: Sequence[ProviderConfig],
    problems: list[Problem],
) -> tuple[ModelConfig, ...]:
    known = {p.name for p in providers}
    out = []
    for name, section in sections.items():
        deployments = []
        for i, d in enumerate(section.deployments):
            if d.provider not in known:
                problems.append(
                    (f"models.{name}.deployments[{i}].provider", f"no provider `{d.provider}`")
                )
                continue
            deployments.append(
                DeploymentConfig(
                    provider=d.provider,
                    model=d.model or name,
                    weight=d.weight,
                    priority=d.priority,
                    rpm=d.rpm,
                    tpm=d.tpm,
                    timeout_s=d.timeout_s,
                    first_byte_timeout_s=d.first_byte_timeout_s,
                    probe=d.probe,
                )
            )
        ids = [d.id for d in deployments]
        if len(set(ids)) != len(ids):
            problems.append((f"models.{name}.deployments", "lists a provider and model twice"))
        out.append(
            ModelConfig(
                name=name,
                deployments=tuple(deployments),
                strategy=section.strategy,
                retries=section.retries,
                fallbacks=tuple(section.fallbacks),
            )
        )
    return tuple(out)
