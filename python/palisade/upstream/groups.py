"""Model name -> its group of deployments, and the choice of one for the next attempt.

A name listed under `models` is the group configured there; any other name is a group of one:
the provider the router resolves it to (`provider:model`, a provider's `models` patterns, a
pinned route), with no breaker, since it has nowhere else to go. Groups of one are memoised like
the router's resolutions, so routing a plain request costs a dict lookup.

Choice: the highest priority tier with a usable deployment (breaker not open, no 429 wait
pending, under its capacity), preferring one this request has not tried yet; within the tier,
by the group's strategy. `latency` sends `EXPLORE` of its calls to another usable deployment at
random, so the figures of a deployment that was slow stay current and it wins calls back once it
recovers.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Collection, Sequence

from palisade.config import Config, ConfigError
from palisade.config.errors import Problem
from palisade.config.routing import DeploymentConfig, ModelConfig, RoutingConfig, Strategy
from palisade.errors import GatewayError
from palisade.upstream.backoff import RetryBudget
from palisade.upstream.deployment import Deployment
from palisade.upstream.routing import Router, Target

EXPLORE = 0.05
_MEMO_LIMIT = 4096


class Group:
    __slots__ = (
        "deployments",
        "fallbacks",
        "name",
        "one",
        "retries",
        "strategy",
        "tiers",
    )

    def __init__(
        self,
        name: str,
        deployments: Sequence[Deployment],
        *,
        strategy: Strategy,
        retries: int,
        fallbacks: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.deployments = tuple(deployments)
        self.strategy = strategy
        self.retries = retries
        self.fallbacks = fallbacks
        priorities = sorted({d.config.priority for d in deployments}, reverse=True)
        self.tiers = tuple(
            tuple(d for d in deployments if d.config.priority == p) for p in priorities
        )
        self.one = self.deployments[0] if len(self.deployments) == 1 else None

    def pick(self, now: float, stream: bool, tried: Collection[Deployment]) -> Deployment | None:
        one = self.one
        if one is not None:
            return one if one.usable(now) else None
        again = None
        for tier in self.tiers:
            usable = [d for d in tier if d.usable(now)]
            if not usable:
                continue
            fresh = [d for d in usable if d not in tried] if tried else usable
            if fresh:
                return self._choose(fresh, stream)
            if again is None:
                again = self._choose(usable, stream)
        return again

    def _choose(self, usable: list[Deployment], stream: bool) -> Deployment:
        if len(usable) == 1:
            return usable[0]
        strategy = self.strategy
        if strategy == "least_busy":
            return min(usable, key=lambda d: (d.inflight, random.random()))
        if strategy == "latency":
            if random.random() < EXPLORE:
                return random.choice(usable)
            return min(usable, key=lambda d: d.score(stream))
        total = sum(d.config.weight for d in usable)
        point = random.random() * total
        for d in usable:
            point -= d.config.weight
            if point < 0:
                return d
        return usable[-1]


class Routing:
    """The worker's groups, deployments and retry budget."""

    def __init__(self, config: Config, router: Router) -> None:
        self.config: RoutingConfig = config.routing
        self._connect_timeout_s = config.upstream.connect_timeout_s
        self.router = router
        self.budget = RetryBudget(self.config.budget)
        self.deployments: dict[str, Deployment] = {}
        self.groups: dict[str, Group] = {m.name: self._configured(m) for m in config.models}
        self._memo: dict[str, Group] = {}
        self._pinned: dict[tuple[str, str], Group] = {}
        problems: list[Problem] = [
            (f"models.{m.name}.fallbacks[{i}]", f"no provider serves `{name}`")
            for m in config.models
            for i, name in enumerate(m.fallbacks)
            if not self.routes(name)
        ]
        problems += [
            (f"proxies.{p.id}.fallbacks.{model}[{i}]", f"no provider serves `{name}`")
            for p in config.proxies
            for model, chain in p.fallbacks.items()
            for i, name in enumerate(chain)
            if not self.routes(name)
        ]
        if problems:
            raise ConfigError.of(config.source, problems)

    def routes(self, model: str) -> bool:
        """Whether a request for `model` would reach a provider."""
        try:
            self.group(model)
        except GatewayError:
            return False
        return True

    def group(self, model: str, pin: str | None = None) -> Group:
        if pin is not None:
            key = (pin, model)
            group = self._pinned.get(key)
            if group is None:
                group = self._one(model, self.router.resolve_pinned(model, pin))
                if len(self._pinned) < _MEMO_LIMIT:
                    self._pinned[key] = group
            return group
        group = self.groups.get(model) or self._memo.get(model)
        if group is None:
            group = self._one(model, self.router.resolve(model))
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[model] = group
        return group

    def _one(self, name: str, target: Target) -> Group:
        config = DeploymentConfig(provider=target.provider.name, model=target.model)
        deployment = self._deployment(target, config, broken=False)
        return Group(name, (deployment,), strategy="weighted", retries=self.config.retries or 0)

    def _configured(self, model: ModelConfig) -> Group:
        if model.deployments:
            deployments = [
                self._deployment(
                    self.router.target(d.provider, d.model, rewritten=d.model != model.name),
                    d,
                    broken=True,
                )
                for d in model.deployments
            ]
        else:
            target = self.router.resolve(model.name)
            config = DeploymentConfig(provider=target.provider.name, model=target.model)
            deployments = [self._deployment(target, config, broken=True)]
        retries = model.retries if model.retries is not None else self.config.retries
        return Group(
            model.name,
            deployments,
            strategy=model.strategy or self.config.strategy,
            retries=len(deployments) - 1 if retries is None else retries,
            fallbacks=model.fallbacks,
        )

    def _deployment(self, target: Target, config: DeploymentConfig, *, broken: bool) -> Deployment:
        """Configured deployments of one provider and model share their state across groups."""
        if broken:
            found = self.deployments.get(config.id)
            if found is not None:
                return found
        deployment = Deployment(
            target,
            config,
            self.config.breaker if broken else None,
            alpha=self.config.ema_alpha,
            first_byte_timeout_s=self.config.first_byte_timeout_s,
            connect_timeout_s=self._connect_timeout_s,
        )
        if broken:
            self.deployments[config.id] = deployment
        return deployment

    @staticmethod
    def aimed(target: Target, requested: str) -> Target:
        """A target reached for another name than the client's (a fallback) renames the
        model in the body."""
        if target.rewritten or target.model == requested:
            return target
        return dataclasses.replace(target, rewritten=True)
