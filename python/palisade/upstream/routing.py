"""Model name -> provider endpoint.

`provider:model` names a configured provider explicitly (and the prefix is stripped before the
request leaves); a plain name goes to the highest-priority provider whose `models` list claims it,
exact names before patterns. A route that pins a provider (`/v1/groq/...`) resolves at that
provider only (`resolve_pinned`). A provider's `aliases` (Azure deployments) rename the model on
the way. Resolution is memoised: the set of names a deployment sees is small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import translate

from palisade.config import ProviderConfig
from palisade.errors import BadRequest, ModelNotFound, NotFound

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
        self._pinned: dict[tuple[str, str], Target] = {}

    def resolve(self, model: str) -> Target:
        target = self._memo.get(model)
        if target is None:
            target = self._resolve(model)
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[model] = target
        return target

    def target(self, name: str, model: str, *, rewritten: bool) -> Target:
        """`model` at the provider `name` (a deployment listed under `models`)."""
        return self._target(self._by_name[name], model, rewritten=rewritten)

    def has(self, name: str) -> bool:
        return name in self._by_name

    def resolve_pinned(self, model: str, name: str) -> Target:
        """`model` at the provider `name` only (a route that pins it, `/v1/groq/...`): any name
        goes there as it is, `name:model` too; a prefix naming another provider is refused."""
        key = (name, model)
        target = self._pinned.get(key)
        if target is None:
            target = self._resolve_pinned(model, name)
            if len(self._pinned) < _MEMO_LIMIT:
                self._pinned[key] = target
        return target

    def _resolve_pinned(self, model: str, name: str) -> Target:
        provider = self._by_name.get(name)
        if provider is None:
            raise NotFound(
                f"Palisade: no provider named `{name[:64]}` is configured; this route reaches "
                "only that provider.",
                code="provider_not_found",
            )
        prefix, sep, rest = model.partition(":")
        if sep and rest and prefix in self._by_name:
            if prefix != name:
                raise BadRequest(
                    f"Palisade: the model `{model}` names the provider `{prefix}`, but this "
                    f"route reaches only the provider `{name}`; call `{prefix}`'s route or the "
                    "model router (/v1/model-router/...).",
                    param="model",
                    code="provider_mismatch",
                )
            return self._target(provider, rest, rewritten=True)
        return self._target(provider, model, rewritten=False)

    def _resolve(self, model: str) -> Target:
        prefix, sep, rest = model.partition(":")
        if sep and rest and prefix in self._by_name:
            return self._target(self._by_name[prefix], rest, rewritten=True)
        exact = self._exact.get(model)
        for pattern, provider in self._patterns:
            if exact is not None and exact.priority >= provider.priority:
                break
            if pattern.match(model):
                return self._target(provider, model, rewritten=False)
        if exact is not None:
            return self._target(exact, model, rewritten=False)
        raise ModelNotFound(
            f"Palisade: the model `{model}` does not exist or is not routed by this gateway. "
            "Use a model a configured provider serves, or name the provider: `provider:model`.",
            param="model",
        )

    @staticmethod
    def _target(provider: ProviderConfig, model: str, *, rewritten: bool) -> Target:
        """The provider's own name for the model (an Azure deployment) when it has one, and
        the dialects it speaks for it when they are not all of its own (Vertex AI)."""
        alias = provider.aliases.get(model) if provider.aliases else None
        if alias is not None and alias != model:
            model, rewritten = alias, True
        if not provider.model_dialects:
            return Target(provider, model, rewritten)
        return Target(provider, model, rewritten, provider.dialects_for(model))

    def provider_for(self, model: str) -> ProviderConfig | None:
        try:
            return self.resolve(model).provider
        except ModelNotFound:
            return None
