"""The model listings, in the client's dialect: OpenAI's (`{"object": "list", "data": [...]}`)
or Anthropic's (`{"data": [...], "has_more", "first_id", "last_id"}`), chosen by the route or,
on the shared `/v1/models`, by the `anthropic-version` header every Anthropic SDK sends.

A listing holds every model a provider lists and the router would send to that same provider,
whatever the provider's dialect (a client reaches the others by translation); on a route that
pins a provider (`/v1/groq/models`), that provider's models; on the model router's
(`/v1/model-router/models`), every provider's, as `provider:model` ids (`owned_by`: the
provider). Each kind lists its providers' models its own way (`providers.listing`); a provider
whose listing fails, or whose kind has none, is listed by its configured model names. Cached for
a minute per worker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import aiohttp
import orjson
from starlette.requests import Request
from starlette.responses import Response

from palisade.config import ProviderConfig
from palisade.errors import ModelNotFound, NotFound, UpstreamUnreachable
from palisade.gateway import Gateway
from palisade.pipeline.context import RequestContext
from palisade.pipeline.identity import identify
from palisade.providers.anthropic import ANTHROPIC, MESSAGES
from palisade.providers.base import Dialect, Surface
from palisade.providers.catalog import DIALECTS, KINDS
from palisade.providers.gemini import GEMINI, GENERATE
from palisade.providers.listing import Model, configured_models, model_of
from palisade.providers.openai import CHAT
from palisade.upstream.client import client_headers, send, upstream_headers
from palisade.upstream.relay import raw_response

_MODELS_TTL_S = 60.0

Endpoint = Callable[[Request], Awaitable[Response]]


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _surface(request: Request) -> Surface:
    return MESSAGES if "anthropic-version" in request.headers else CHAT


async def _authenticate(request: Request, gw: Gateway, surface: Surface) -> None:
    """The model listings answer only callers the proxy would serve."""
    guards = gw.proxy(request.path_params.get("proxy"))
    if guards.proxy.auth:
        ctx = RequestContext(surface=surface, guards=guards, proxy_id=guards.proxy.id)
        address = request.client.host if request.client else "-"
        await identify(ctx, request.headers, address, gw.identity)


async def list_models(request: Request) -> Response:
    return await _listing(request, _surface(request), _UNPINNED)


async def list_anthropic_models(request: Request) -> Response:
    return await _listing(request, MESSAGES, _UNPINNED)


async def list_gemini_models(request: Request) -> Response:
    return await _listing(request, GENERATE, _UNPINNED)


def listing(
    pin: str | None,
    *,
    strict: bool = True,
    router: bool = False,
    surface: Surface | None = None,
) -> Endpoint:
    """The listing of a route that pins a provider (`pin`; not `strict`: only when one of that
    name is configured), or the model router's (`router`): every provider's models as
    `provider:model`. `surface`: always in that surface's dialect (a dialect's own routes);
    None: OpenAI's or Anthropic's by the request's headers."""
    view = _View(pin, strict, router)

    async def endpoint(request: Request) -> Response:
        return await _listing(request, surface or _surface(request), view)

    return endpoint


class _View(NamedTuple):
    pin: str | None
    strict: bool
    router: bool


_UNPINNED = _View(None, True, False)


async def _listing(request: Request, surface: Surface, view: _View) -> Response:
    gw = _gateway(request)
    await _authenticate(request, gw, surface)
    pin = _pinned(request, gw, view.pin, strict=view.strict)
    cache: tuple[float, dict[str, list[Model]]] | None = getattr(
        request.app.state, "models_cache", None
    )
    if cache is None or time.monotonic() - cache[0] > _MODELS_TTL_S:
        cache = (time.monotonic(), await _collect_models(gw))
        request.app.state.models_cache = cache
    found = _visible(gw, cache[1], pin, router=view.router)
    if surface.dialect is ANTHROPIC:
        data = [_anthropic_item(m) for m in found]
        body: dict[str, Any] = {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    elif surface.dialect is GEMINI:
        body = {"models": [_gemini_item(m) for m in found]}
    else:
        body = {"object": "list", "data": [_openai_item(m) for m in found]}
    return Response(orjson.dumps(body), media_type="application/json")


def _visible(
    gw: Gateway, listed: dict[str, list[Model]], pin: str | None, *, router: bool
) -> list[Model]:
    """A pinned route: its provider's models. The model router: every provider's, as
    `provider:model` (each reachable by that id; `owned_by` names the provider). Otherwise the
    plain names the router sends to the provider that lists them."""
    if pin is not None:
        return listed.get(pin, [])
    if router:
        return [
            Model(f"{name}:{m.id}", m.created, name, m.name)
            for name, models in listed.items()
            for m in models
        ]
    seen: dict[str, Model] = {}
    for provider in gw.router.providers:
        for model in listed.get(provider.name, []):
            if model.id not in seen and gw.router.provider_for(model.id) is provider:
                seen[model.id] = model
    return list(seen.values())


def _pinned(request: Request, gw: Gateway, pin: str | None, *, strict: bool) -> str | None:
    if pin is not None and not gw.router.has(pin):
        if strict:
            raise NotFound(
                f"Palisade: no provider named `{pin[:64]}` is configured.",
                code="provider_not_found",
            )
        return None
    return pin


def _openai_item(model: Model) -> dict[str, Any]:
    return {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owner}


def _anthropic_item(model: Model) -> dict[str, Any]:
    created = datetime.fromtimestamp(model.created, UTC).isoformat().replace("+00:00", "Z")
    return {"type": "model", "id": model.id, "display_name": model.name, "created_at": created}


def _gemini_item(model: Model) -> dict[str, Any]:
    return {
        "name": f"models/{model.id}",
        "displayName": model.name,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }


async def _collect_models(gw: Gateway) -> dict[str, list[Model]]:
    """Each provider's models, by provider name: its kind's listing, else (no listing, or it
    failed) its configured model names."""
    providers = gw.router.providers
    answers = await asyncio.gather(
        *(_provider_models(gw, p) for p in providers), return_exceptions=True
    )
    out: dict[str, list[Model]] = {}
    failures = 0
    for provider, answer in zip(providers, answers, strict=True):
        connection = gw.connections[provider.name]
        if isinstance(answer, BaseException):
            failures += 1
            out[provider.name] = configured_models(connection)
        else:
            out[provider.name] = answer if answer is not None else configured_models(connection)
    if providers and failures == len(providers) and not any(out.values()):
        raise UpstreamUnreachable("Palisade: no provider answered the model listing.")
    return out


async def _provider_models(gw: Gateway, provider: ProviderConfig) -> list[Model] | None:
    lister = KINDS[provider.kind].listing
    if lister is None:
        return None
    timeout = aiohttp.ClientTimeout(total=gw.config.upstream.connect_timeout_s + 5)
    connection = gw.connections[provider.name]
    return await lister(connection, DIALECTS[provider.dialects[0]], gw.session, timeout)


def retrieval(pin: str | None, *, strict: bool = True) -> Endpoint:
    """One model, at the provider a route pins (as `listing`) or where the router sends it."""

    async def endpoint(request: Request) -> Response:
        return await _retrieve(request, pin, strict)

    return endpoint


async def retrieve_model(request: Request) -> Response:
    return await _retrieve(request, None, True)


async def _retrieve(request: Request, pin: str | None, strict: bool) -> Response:
    gw = _gateway(request)
    surface = _surface(request)
    await _authenticate(request, gw, surface)
    model_id = request.path_params["model"]
    pin = _pinned(request, gw, pin, strict=strict)
    router = gw.router
    target = router.resolve(model_id) if pin is None else router.resolve_pinned(model_id, pin)
    if target.model in {".", ".."}:
        # One path segment only: the id must never walk to another provider path.
        raise ModelNotFound(f"Palisade: the model `{model_id}` does not exist.", param="model")
    provider = target.provider
    dialect: Dialect = DIALECTS[provider.dialects[0]]
    connection = gw.connections[provider.name]
    url = connection.path_url(f"models/{quote(target.model, safe='')}")
    headers = upstream_headers({}, dialect)
    pending = connection.authorize(headers, url, b"", None)
    if pending is not None:
        await pending
    resp = await send(gw.session, "GET", url, headers=headers, body=None, provider=provider)
    async with resp:
        body = await resp.read()
    if resp.status == 200 and dialect is not surface.dialect:
        model = model_of(orjson.loads(body), provider.name)
        if model is not None:
            item = _anthropic_item(model) if surface.dialect is ANTHROPIC else _openai_item(model)
            body = orjson.dumps(item)
    return raw_response(body, resp.status, client_headers(resp.raw_headers, provider))
