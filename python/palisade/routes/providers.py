"""Per-provider routes: `/v1/{name}/...` and `/v1/{name}/{proxy-id}/...` for each configured
provider, built from the config when the app is made (providers never change at run time).

Each pins its provider (`Generation(surface, name)`): every model goes there as named, a model
that names another configured provider is refused, and nothing reaches another provider. A
provider's prefix serves its kind's own API (`BY_KIND`: Anthropic's Messages API for `kind:
anthropic`, Azure's deployment routes for `kind: azure`) and, for every kind, OpenAI's routes,
which reach any provider by translation. A kind without an entry gets OpenAI's routes only; a
new kind adds its builder here (Gemini's `/v1beta/models/...`, Bedrock's `/model/...`).

Routes are made per name rather than matched by a `{provider}` parameter, so that no pattern
can shadow another dialect's own routes. Names that are the gateway's own prefixes (`openai`,
`anthropic`, `azure`, `ollama`, `model-router`) keep those routes, which pin the provider of
that name themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from starlette.routing import BaseRoute

from palisade.providers.provider import ProviderConfig
from palisade.routes import anthropic, azure, bedrock, cohere, gemini, openai
from palisade.routes.prefixes import under

# (prefix, provider name) -> the routes of the kind's own API, pinned to that provider.
RouteBuilder = Callable[[str, str], list[BaseRoute]]


def _anthropic(prefix: str, name: str) -> list[BaseRoute]:
    return anthropic.routes(prefix, pin=name)


def _azure(prefix: str, name: str) -> list[BaseRoute]:
    return azure.routes(prefix, name, strict=True)


def _bedrock(prefix: str, name: str) -> list[BaseRoute]:
    return bedrock.routes(prefix, pin=name)


def _cohere(prefix: str, name: str) -> list[BaseRoute]:
    return cohere.routes(prefix, pin=name)


def _gemini(prefix: str, name: str) -> list[BaseRoute]:
    return gemini.routes(prefix, pin=name)


BY_KIND: dict[str, RouteBuilder] = {
    "anthropic": _anthropic,
    "azure": _azure,
    "bedrock": _bedrock,
    "cohere": _cohere,
    "gemini": _gemini,
    "vertex": _gemini,
}

# Prefixes with routes of their own (registered before these), and `/v1/models/...`.
RESERVED = frozenset(
    {
        "openai",
        "anthropic",
        "azure",
        "bedrock",
        "cohere",
        "gemini",
        "ollama",
        "model-router",
        "models",
    }
)


def mounts(providers: Iterable[ProviderConfig]) -> list[BaseRoute]:
    """Each provider's prefix, `/v1/{name}/...` and `/v1/{name}/{proxy}/...`, but for the
    gateway's own prefixes (`RESERVED`)."""
    return [
        under(f"/v1/{provider.name}", partial(_routes, provider))
        for provider in providers
        if provider.name not in RESERVED
    ]


def _routes(provider: ProviderConfig, prefix: str) -> list[BaseRoute]:
    name = provider.name
    native = BY_KIND.get(provider.kind)
    out = native(prefix, name) if native is not None else []
    out.extend(openai.routes(prefix, name))
    return out
