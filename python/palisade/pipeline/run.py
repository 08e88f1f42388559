"""The request path, in its order, written once: every generation route of every dialect runs it.

    1 firewall    attribution, the bounded body, the proxy, content type, JSON shape
    2 identity    the credential as the client's dialect presents it
    5 route       model -> its deployments, the first attempt's (and a translation when its
                  dialect differs)
    3 limits      rate limits, budgets, dedup (they need the routed model's price)
    4 guard-in    the request's texts
    6 upstream    the call, translated when the dialects differ (or answered by the
                  translation, when the provider's dialect has no such endpoint), with its
                  retries and fallbacks (`upstream.attempts`)
    7 guard-out   the answer, streamed or whole (`upstream.relay`)
    8 account     tokens and cost, when the request ends (`record`)
    9 record      the interaction log, metrics and span

Stages never look at the endpoint or the dialect: what differs is asked of the client's surface
(`providers.base.Surface`) and, when the provider speaks another dialect, of the translation.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from palisade.disconnect import ClientDisconnected, DisconnectWatch
from palisade.errors import BadRequest, GatewayError, InternalError
from palisade.exchange import Body
from palisade.gateway import Gateway
from palisade.pipeline.attribution import parse_attribution
from palisade.pipeline.context import RequestContext
from palisade.pipeline.downgrade import downgrade
from palisade.pipeline.firewall import (
    check_content_type,
    check_messages,
    check_shape,
    parse_json_object,
    read_body,
)
from palisade.pipeline.guard_in import guard_request
from palisade.pipeline.identity import Grant, identify
from palisade.pipeline.record import record
from palisade.providers.base import Surface
from palisade.upstream.attempts import aim_first, call, finish
from palisade.upstream.relay import local_answer

log = logging.getLogger("palisade")

_CLIENT_CLOSED = 499  # nginx's convention; the client is gone and never sees it


class Generation:
    """The raw ASGI endpoint of one surface. Starlette wraps function endpoints in two layers
    of closures per request (and every `send` through them), and the exchange layer the other
    routes get would add its own: the hot routes skip both, give the request its id and its
    body deadline themselves, and render their errors in the client's dialect, unexpected
    ones included (logged with the traceback, a 500 to the client), so that every request ends
    in `record`."""

    def __init__(self, surface: Surface, pin: str | None = None, *, strict: bool = True) -> None:
        """`pin`: the provider the route reaches and no other (`/v1/groq/...`); not `strict`, a
        pin that names no configured provider leaves the route unpinned (`/v1/openai/...`
        without a provider named `openai`)."""
        self.surface = surface
        self.pin = pin
        self.strict = strict
        self._pin = pin
        self._gateway: Gateway | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self._gateway
        if gw is None:  # the lifespan made it; each app builds its own endpoints
            gw = self._gateway = scope["app"].state.gateway
            if self.pin is not None and not self.strict and not gw.router.has(self.pin):
                self._pin = None
        pin = self._pin
        body = Body(gw.deadlines, receive, scope)
        request = Request(scope, body.receive)
        ctx = RequestContext(surface=self.surface, request_id=body.request_id)
        try:
            response = await _run(gw, ctx, request, body, pin)
        except GatewayError as exc:
            ctx.error_code = ctx.error_code or exc.code or exc.type
            response = self._error(exc, body)
        except ClientDisconnected:
            ctx.error_code = "client_disconnected"
            response = Response(status_code=_CLIENT_CLOSED)
        except Exception:
            # A bug. Handled here rather than by the app's handler so that it is recorded too.
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            ctx.error_code = InternalError.code
            error = InternalError("Palisade: internal error; the incident was logged.")
            response = self._error(error, body)
        try:
            await response(scope, body.receive, send)
        finally:
            # The request ends here, streams included: the response has sent its last byte
            # (or the client left), so the record sees everything the client got.
            finish(ctx)
            record(gw.recording, ctx, request.headers, response)

    def _error(self, error: GatewayError, body: Body) -> Response:
        """The error in the client's dialect, with the head the exchange gives every answer
        (ids; `Connection: close` while the body is unread)."""
        response = error.to_response(self.surface.dialect.error_body(error))
        response.raw_headers = body.head(response.raw_headers)
        return response


async def _run(
    gw: Gateway, ctx: RequestContext, request: Request, incoming: Body, pin: str | None
) -> Response:
    surface = ctx.surface
    headers = request.headers
    # 1. Attribution first, so that every refusal is recorded and counted under its agent;
    # then the (bounded) body, so that no answer leaves while the client is still sending one.
    attribute(ctx, headers)
    ctx.raw_body = await read_body(request, incoming, gw.config.firewall)
    params = request.path_params
    ctx.guards = guards = gw.proxy(params.get("proxy"))
    ctx.proxy_id = guards.proxy.id
    check_content_type(request)
    check_shape(ctx.raw_body, gw.config.firewall)
    ctx.body = body = parse_json_object(ctx.raw_body)
    # 2.
    client = request.scope.get("client")
    grant = await identify(ctx, headers, client[0] if client else "-", gw.identity)
    check_messages(body, gw.config.firewall)
    model = surface.request_model(body, params)
    if not isinstance(model, str) or not model:
        raise BadRequest(
            "Palisade: the request must name a model (`model`: a non-empty string).",
            param="model",
            code="missing_model",
        )
    stream = surface.request_stream(body, params)
    if not isinstance(stream, bool) and stream is not None:
        raise BadRequest("Palisade: `stream` must be true or false.", param="stream")
    ctx.model, ctx.stream = model, bool(stream)
    if guards.proxy.downgrade:  # a simple request may go to a cheaper model (off by default)
        model = ctx.model = downgrade(ctx, model)
    # 5. The model's deployments, and the one of the first attempt (stage 3 prices it).
    ctx.pinned = pin is not None
    aim_first(gw, ctx, gw.routing.group(model, pin), grant)
    # 3. to 7.
    admission = gw.admission
    if admission is None:
        return await _forward(gw, ctx, request, grant)
    return await admission.run(ctx, headers, lambda: _forward(gw, ctx, request, grant))


async def _forward(gw: Gateway, ctx: RequestContext, request: Request, grant: Grant) -> Response:
    """Stages 4 to 7: guard the request, call the provider, relay (and guard) its answer."""
    if ctx.guards.on_request:
        guard_request(ctx)
    assert ctx.target is not None
    if ctx.translation is not None:
        local = ctx.translation.local_answer(ctx.body, ctx.target.model)
        if local is not None:
            # The provider's dialect has no such endpoint: the gateway answers, nothing leaves.
            return local_answer(ctx, local)
    # A client that leaves raises ClientDisconnected, answered by Generation.
    async with DisconnectWatch(request.receive):
        return await call(gw, ctx, request.headers, grant)


def attribute(ctx: RequestContext, headers: Headers) -> None:
    a = parse_attribution(headers)
    ctx.agent_id, ctx.user_id = a.agent_id, a.user_id
    ctx.session_id, ctx.execution_id = a.session_id, a.execution_id
