"""The OpenAI drop-in surface: `/v1/...` and the same routes under `/v1/openai/...`."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from palisade.config import ProviderConfig
from palisade.disconnect import ClientDisconnected, DisconnectWatch
from palisade.errors import (
    BadRequest,
    GatewayError,
    InternalError,
    ModelNotFound,
    NotFound,
    UpstreamUnreachable,
)
from palisade.exchange import REQUEST_ID_KEY, next_request_id
from palisade.gateway import Gateway
from palisade.pipeline.attribution import parse_attribution
from palisade.pipeline.context import RequestContext
from palisade.pipeline.firewall import (
    check_content_type,
    check_messages,
    check_shape,
    parse_json_object,
    read_body,
)
from palisade.pipeline.guard_in import guard_request
from palisade.pipeline.identity import Grant, authorize_target, identify
from palisade.pipeline.record import record
from palisade.upstream.client import client_headers, send, upstream_headers, upstream_url
from palisade.upstream.relay import raw_response, relay

log = logging.getLogger("palisade")

# Endpoints whose streams accept `stream_options.include_usage`.
_STREAM_USAGE_OPT_IN = frozenset({"chat/completions", "completions"})
_MODELS_TTL_S = 60.0
_CLIENT_CLOSED = 499  # nginx's convention; the client is gone and never sees it


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


class _Generation:
    """A raw ASGI endpoint. Starlette wraps function endpoints in two layers of closures per
    request (and every `send` through them); the hot routes skip that and render their errors
    themselves, unexpected ones included (logged with the traceback, a 500 to the client), so
    that every request ends in `record`."""

    def __init__(self, path: str) -> None:
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        ctx = RequestContext(
            endpoint=self.path, request_id=scope.get(REQUEST_ID_KEY) or next_request_id()
        )
        try:
            response = await _generate(request, ctx)
        except GatewayError as exc:
            ctx.error_code = ctx.error_code or exc.code or exc.type
            response = exc.to_response()
        except ClientDisconnected:
            ctx.error_code = "client_disconnected"
            response = Response(status_code=_CLIENT_CLOSED)
        except Exception:
            # A bug. Handled here rather than by the app's handler so that it is recorded too.
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            ctx.error_code = InternalError.code
            response = InternalError(
                "Palisade: internal error; the incident was logged."
            ).to_response()
        try:
            await response(scope, receive, send)
        finally:
            # The request ends here, streams included: the response has sent its last byte
            # (or the client left), so the record sees everything the client got.
            record(_gateway(request), ctx, request.headers, response)


async def _generate(request: Request, ctx: RequestContext) -> Response:
    gw = _gateway(request)
    path = ctx.endpoint
    # Attribution first, so that every refusal is recorded and counted under its agent; then
    # the (bounded) body, so that no answer leaves while the client is still sending one.
    attribute(ctx, request.headers)
    ctx.raw_body = await read_body(request, gw.config.firewall)
    ctx.guards = guards = gw.proxy(request.path_params.get("proxy"))
    ctx.proxy_id = guards.proxy.id
    check_content_type(request)
    check_shape(ctx.raw_body, gw.config.firewall)
    ctx.body = body = parse_json_object(ctx.raw_body)
    grant = await identify(ctx, request, gw)
    check_messages(body, gw.config.firewall)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest(
            "Palisade: the request must name a model (`model`: a non-empty string).",
            param="model",
            code="missing_model",
        )
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise BadRequest("Palisade: `stream` must be true or false.", param="stream")
    ctx.model, ctx.stream = model, bool(stream)
    ctx.target = target = gw.router.resolve(model)
    provider = target.provider
    authorize_target(ctx, grant, provider.name, target.model)
    if ctx.stream and path in _STREAM_USAGE_OPT_IN and provider.stream_usage:
        _ask_for_stream_usage(ctx)
    admission = gw.admission
    if admission is None:
        return await _forward(gw, ctx, request, grant)
    return await admission.run(ctx, request.headers, lambda: _forward(gw, ctx, request, grant))


async def _forward(gw: Gateway, ctx: RequestContext, request: Request, grant: Grant) -> Response:
    """Stages 4 to 7: guard the request, call the provider, relay (and guard) its answer."""
    if ctx.guards.on_request:
        guard_request(ctx)
    assert ctx.target is not None
    provider = ctx.target.provider
    headers = upstream_headers(request.headers, provider, grant.provider_key)
    ctx.forwarded_body = ctx.outgoing_body()
    # A client that leaves raises ClientDisconnected, answered by _Generation.
    async with DisconnectWatch(request.receive):
        resp = await send(
            gw.session,
            "POST",
            upstream_url(provider, ctx.endpoint),
            headers=headers,
            body=ctx.forwarded_body,
            provider=provider,
        )
        return await relay(ctx, resp)


def attribute(ctx: RequestContext, headers: Headers) -> None:
    a = parse_attribution(headers)
    ctx.agent_id, ctx.user_id = a.agent_id, a.user_id
    ctx.session_id, ctx.execution_id = a.session_id, a.execution_id


async def _authenticate(request: Request, gw: Gateway) -> None:
    """The model listings answer only callers the proxy would serve."""
    guards = gw.proxy(request.path_params.get("proxy"))
    if guards.proxy.auth:
        ctx = RequestContext(endpoint="models", guards=guards, proxy_id=guards.proxy.id)
        await identify(ctx, request, gw)


def _ask_for_stream_usage(ctx: RequestContext) -> None:
    options = ctx.body.get("stream_options")
    if options is None:
        options = {}
    elif not isinstance(options, dict):
        raise BadRequest("Palisade: `stream_options` must be an object.", param="stream_options")
    if options.get("include_usage") is True:
        return
    ctx.body["stream_options"] = {**options, "include_usage": True}
    ctx.injected_stream_usage = True


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
        headers=upstream_headers({}, provider),
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
        headers=upstream_headers({}, provider),
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
            Route(f"{prefix}/{path}", _Generation(path), methods=["POST"])
            for path in ("chat/completions", "completions", "embeddings", "responses")
        ),
        Route(f"{prefix}/models", list_models, methods=["GET"]),
        Route(f"{prefix}/models/{{model:path}}", retrieve_model, methods=["GET"]),
        Route(f"{prefix}/models/{{model:path}}", _model_action, methods=["POST"]),
    ]
