"""The model listings, in the client's dialect: OpenAI's (`{"object": "list", "data": [...]}`)
or Anthropic's (`{"data": [...], "has_more", "first_id", "last_id"}`), chosen by the route or,
on the shared `/v1/models`, by the `anthropic-version` header every Anthropic SDK sends.

A listing holds every model a provider lists and the router would send to that same provider,
whatever the provider's dialect (a client reaches the others by translation), cached for a
minute per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import aiohttp
import orjson
from starlette.requests import Request
from starlette.responses import Response

from palisade.config import ProviderConfig
from palisade.errors import GatewayError, ModelNotFound, UpstreamUnreachable
from palisade.gateway import Gateway
from palisade.pipeline.context import RequestContext
from palisade.pipeline.identity import identify
from palisade.providers.anthropic import ANTHROPIC, MESSAGES
from palisade.providers.base import Dialect, Surface
from palisade.providers.catalog import DIALECTS
from palisade.providers.gemini import GEMINI, GENERATE
from palisade.providers.openai import CHAT
from palisade.upstream.client import client_headers, send, upstream_headers
from palisade.upstream.relay import raw_response

_MODELS_TTL_S = 60.0


class Model(NamedTuple):
    id: str
    created: int  # Unix seconds
    owner: str
    name: str


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
    return await _listing(request, _surface(request))


async def list_anthropic_models(request: Request) -> Response:
    return await _listing(request, MESSAGES)


async def list_gemini_models(request: Request) -> Response:
    return await _listing(request, GENERATE)


async def _listing(request: Request, surface: Surface) -> Response:
    gw = _gateway(request)
    await _authenticate(request, gw, surface)
    cache: tuple[float, list[Model]] | None = getattr(request.app.state, "models_cache", None)
    if cache is None or time.monotonic() - cache[0] > _MODELS_TTL_S:
        cache = (time.monotonic(), await _collect_models(gw))
        request.app.state.models_cache = cache
    found = cache[1]
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


async def _collect_models(gw: Gateway) -> list[Model]:
    providers = gw.router.providers
    answers = await asyncio.gather(
        *(_provider_models(gw, p) for p in providers), return_exceptions=True
    )
    seen: dict[str, Model] = {}
    failures = 0
    for provider, answer in zip(providers, answers, strict=True):
        if isinstance(answer, BaseException):
            failures += 1
            continue
        for model in answer:
            if model.id not in seen and gw.router.provider_for(model.id) is provider:
                seen[model.id] = model
    if providers and failures == len(providers):
        raise UpstreamUnreachable("Palisade: no provider answered the model listing.")
    return list(seen.values())


async def _provider_models(gw: Gateway, provider: ProviderConfig) -> list[Model]:
    connection = gw.connections[provider.name]
    url = connection.path_url("models")
    headers = upstream_headers({}, DIALECTS[provider.dialects[0]])
    pending = connection.authorize(headers, url, b"", None)
    if pending is not None:
        await pending
    async with gw.session.get(
        url,
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=gw.config.upstream.connect_timeout_s + 5),
    ) as resp:
        if resp.status != 200:
            raise GatewayError(f"models listing failed with {resp.status}")
        payload = orjson.loads(await resp.read())
    data = payload.get("data") if isinstance(payload, dict) else None
    if data is None and isinstance(payload, dict) and isinstance(payload.get("models"), list):
        data = [_from_gemini(item) for item in payload["models"]]  # Gemini's listing
    if not isinstance(data, list):
        return []
    return [m for m in (_model(item, provider.name) for item in data) if m is not None]


def _from_gemini(item: object) -> object:
    """A Gemini listing item (`name`: `models/<id>`, `displayName`) in OpenAI's terms."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return None
    return {"id": item["name"].removeprefix("models/"), "display_name": item.get("displayName")}


def _model(item: object, provider: str) -> Model | None:
    """A listing item of either dialect (`created` seconds, or `created_at` RFC 3339)."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    created = item.get("created")
    if not isinstance(created, int):
        created = 0
        stamp = item.get("created_at")
        if isinstance(stamp, str):
            with contextlib.suppress(ValueError):
                created = int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    owner = item.get("owned_by")
    name = item.get("display_name")
    return Model(
        item["id"],
        created,
        owner if isinstance(owner, str) else provider,
        name if isinstance(name, str) else item["id"],
    )


async def retrieve_model(request: Request) -> Response:
    gw = _gateway(request)
    surface = _surface(request)
    await _authenticate(request, gw, surface)
    model_id = request.path_params["model"]
    target = gw.router.resolve(model_id)
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
        model = _model(orjson.loads(body), provider.name)
        if model is not None:
            item = _anthropic_item(model) if surface.dialect is ANTHROPIC else _openai_item(model)
            body = orjson.dumps(item)
    return raw_response(body, resp.status, client_headers(resp.raw_headers, provider))
