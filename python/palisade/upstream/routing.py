"""Model name -> provider endpoint.

`provider:model` names a configured provider explicitly (and the prefix is stripped before the
request leaves); a plain name goes to the highest-priority provider whose `models` list claims it,
exact names before patterns. Resolution is memoised: the set of names a deployment sees is small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import translate

from palisade.config import ProviderConfig
from palisade.errors import ModelNotFound

_MEMO_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Target:
    provider: ProviderConfig
    model: str
    # The body's "model" must be rewritten before forwarding (a `provider:` prefix was used).
    rewritten: bool
    # The dialects the provider speaks for this model, when they are not all of its own
    # (`ProviderConfig.model_dialects`); empty: `provider.dialects`.
    dialects: tuple[str, ...] = ()


class Router:
    def __init__(self, providers: tuple[ProviderConfig, ...]) -> None:
        self.providers = providers
        self._by_name = {p.name: p for p in providers}
        ranked = sorted(providers, key=lambda p: -p.priority)  # stable: file order breaks ties
        self._exact: dict[str, ProviderConfig] = {}
        self._patterns: list[tuple[re.Pattern[str], ProviderConfig]] = []
        for p in ranked:
            for name in p.models:
                if any(c in name for c in "*?["):
                    self._patterns.append((re.compile(translate(name)), p))
                else:
                    self._exact.setdefault(name, p)
        self._memo: dict[str, Target] = {}

    def resolve(self, model: str) -> Target:
        target = self._memo.get(model)
        if target is None:
            target = self._resolve(model)
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[model] = target
        return target

    def _resolve(self, model: str) -> Target:
        prefix, sep, rest = model.partition(":")
        if sep and rest and prefix in self._by_name:
            return _target(self._by_name[prefix], rest, rewritten=True)
        exact = self._exact.get(model)
        for pattern, provider in self._patterns:
            if exact is not None and exact.priority >= provider.priority:
                break
            if pattern.match(model):
                return _target(provider, model, rewritten=False)
        if exact is not None:
            return _target(exact, model, rewritten=False)
        raise ModelNotFound(
            f"Palisade: the model `{model}` does not exist or is not routed by this gateway. "
            "Use a model a configured provider serves, or name the provider: `provider:model`.",
            param="model",
        )

    def provider_for(self, model: str) -> ProviderConfig | None:
        try:
            return self.resolve(model).provider
        except ModelNotFound:
            return None


def _target(provider: ProviderConfig, model: str, *, rewritten: bool) -> Target:
    if not provider.model_dialects:
        return Target(provider, model, rewritten)
    return Target(provider, model, rewritten, provider.dialects_for(model))
