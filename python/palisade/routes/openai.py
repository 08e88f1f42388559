"""The OpenAI API: `/v1/...` and the same routes under `/v1/openai/...`; the generation
endpoints run the pipeline (`pipeline.run`), the model listings are answered here."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from palisade.config import ProviderConfig
from palisade.errors import GatewayError, ModelNotFound, NotFound, UpstreamUnreachable
from palisade.gateway import Gateway
from palisade.pipeline.context import RequestContext
from palisade.pipeline.identity import identify
from palisade.pipeline.run import Generation
from palisade.providers.catalog import DIALECTS
from palisade.providers.openai import CHAT, OPENAI, SURFACES
from palisade.upstream.client import client_headers, send, upstream_headers, upstream_url
from palisade.upstream.relay import raw_response

_MODELS_TTL_S = 60.0


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def _authenticate(request: Request, gw: Gateway) -> None:
    """The model listings answer only callers the proxy would serve."""
    guards = gw.proxy(request.path_params.get("proxy"))
    if guards.proxy.auth:
        ctx = RequestContext(surface=CHAT, guards=guards, proxy_id=guards.proxy.id)
        address = request.client.host if request.client else "-"
        await identify(ctx, OPENAI.credential(request.headers), address, gw.identity)


async def list_models(request: Request) -> Response:
    gw = _gateway(request)
    await _authenticate(request, gw)
    cache: tuple[float, list[dict[str, Any]]] | None = getattr(
        request.app.state, "models_cache", None
    )
    if cache is None or time.monotonic() - cache[0] > _MODELS_TTL_S:
        cache = (time.monotonic(), await _collect_models(gw))
        request.app.state.models_cache = cache
    return Response(
        orjson.dumps({"object": "list", "data": cache[1]}), media_type="application/json"
    )


async def _collect_models(gw: Gateway) -> list[dict[str, Any]]:
    """Every model a provider lists and the router would send to that same provider."""
    providers = gw.router.providers
    answers = await asyncio.gather(
        *(_provider_models(gw, p) for p in providers), return_exceptions=True
    )
    seen: dict[str, dict[str, Any]] = {}
    failures = 0
    for provider, answer in zip(providers, answers, strict=True):
        if isinstance(answer, BaseException):
            failures += 1
            continue
        for item in answer:
            model_id = item.get("id")
            if (
                isinstance(model_id, str)
                and model_id not in seen
                and gw.router.provider_for(model_id) is provider
            ):
                seen[model_id] = item
    if providers and failures == len(providers):
        raise UpstreamUnreachable("Palisade: no provider answered the model listing.")
    return list(seen.values())


async def _provider_models(gw: Gateway, provider: ProviderConfig) -> list[dict[str, Any]]:
    async with gw.session.get(
        f"{provider.base_url}/models",
        headers=upstream_headers({}, provider, DIALECTS[provider.kind]),
        timeout=aiohttp.ClientTimeout(total=gw.config.upstream.connect_timeout_s + 5),
    ) as resp:
        if resp.status != 200:
            raise GatewayError(f"models listing failed with {resp.status}")
        payload = orjson.loads(await resp.read())
    data = payload.get("data") if isinstance(payload, dict) else None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


async def retrieve_model(request: Request) -> Response:
    gw = _gateway(request)
    await _authenticate(request, gw)
    model_id = request.path_params["model"]
    target = gw.router.resolve(model_id)
    if target.model in {".", ".."}:
        # One path segment only: the id must never walk to another provider path.
        raise ModelNotFound(f"Palisade: the model `{model_id}` does not exist.", param="model")
    provider = target.provider
    resp = await send(
        gw.session,
        "GET",
        upstream_url(provider, f"models/{quote(target.model, safe='')}"),
        headers=upstream_headers({}, provider, DIALECTS[provider.kind]),
        body=None,
        provider=provider,
    )
    async with resp:
        body = await resp.read()
    return raw_response(body, resp.status, client_headers(resp.raw_headers, provider))


async def _model_action(request: Request) -> Response:
    """`POST .../models/{model}:generateContent` is Gemini's API, not an OpenAI route: a 404 that
    says so, rather than the 405 of the model retrieval route whose path it shares."""
    raise NotFound(
        f"Palisade: no route for POST {request.url.path}; the OpenAI API has no POST on a "
        "model (`models/{model}:generateContent` is Google's Gemini API, which this route "
        "does not speak)."
    )


def routes(prefix: str) -> list[BaseRoute]:
    return [
        *(
            Route(f"{prefix}/{surface.endpoint}", Generation(surface), methods=["POST"])
            for surface in SURFACES
        ),
        Route(f"{prefix}/models", list_models, methods=["GET"]),
        Route(f"{prefix}/models/{{model:path}}", retrieve_model, methods=["GET"]),
        Route(f"{prefix}/models/{{model:path}}", _model_action, methods=["POST"]),
    ]
