"""create_app(config) -> Starlette (`dispatch.App`): the routes and a lifespan that owns the
upstream pool."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from palisade.config import Config, load_config
from palisade.console import routes as console
from palisade.dispatch import App
from palisade.errors import GatewayError, InternalError, NotFound
from palisade.exchange import (
    REQUEST_ID_KEY,
    Deadlines,
    Exchange,
    close_header,
    may_leave_bytes,
    next_request_id,
    stamped,
)
from palisade.gateway import Gateway
from palisade.identity import runtime as identity
from palisade.pipeline.admission import Admission, open_store
from palisade.pipeline.record import Recording
from palisade.pipeline.run import Generation
from palisade.pricing import PriceTable
from palisade.readiness import store_checks
from palisade.routes import (
    admin,
    admin_guardrails,
    anthropic,
    azure,
    bedrock,
    cohere,
    gateways,
    gemini,
    interactions,
    oauth,
    ollama,
    openai,
    ops,
    providers,
)
from palisade.routes.prefixes import under
from palisade.shutdown import Shutdown
from palisade.telemetry.tracing import Tracing
from palisade.upstream.breaker_sync import BreakerSync
from palisade.upstream.client import create_session
from palisade.upstream.probes import Probes
from palisade.upstream.routing import Router

log = logging.getLogger("palisade")

CONFIG_ENV = "PALISADE_CONFIG"
_GC_GEN0_THRESHOLD = 5_000


def create_app(config: Config, *, tracing: Tracing | None = None) -> Starlette:
    """`tracing` replaces the one `config.tracing` describes (tests export to memory)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        session = create_session(config.upstream)
        ident, proxies = await identity.start(config, session)
        prices = PriceTable().with_overrides(config.pricing)
        admission = Admission(config, await open_store(config), prices)
        recording = Recording.from_config(config, prices, tracing)
        recording.start()
        app.state.gateway = gateway = Gateway(
            config=config,
            router=Router(config.providers),
            session=session,
            proxies=proxies,
            identity=ident,
            admission=admission,
            recording=recording,
        )
        for connection in gateway.connections.values():
            await connection.start()
        gateway.probes = probes = Probes(
            gateway.routing, gateway.connections, session, metrics=recording.metrics is not None
        )
        probes.start()
        follow = asyncio.create_task(identity.follow(gateway, ident))
        breakers = BreakerSync.from_config(config, gateway.routing)
        breakers.start()
        gateway.shutdown = shutdown = Shutdown(config.server.shutdown_grace_s)
        shutdown.install()
        gateway.ready_checks.extend(
            store_checks(session, config.store.sqlite_path, admission.store)
        )
        _settle_gc()
        try:
            yield
        finally:
            shutdown.uninstall()
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follow
            await probes.stop()
            await breakers.stop()
            await admission.close()
            for connection in gateway.connections.values():
                await connection.close()
            await ident.db.close()
            await session.close()
            recording.drain()
            await run_in_threadpool(recording.stop)

    deadlines = Deadlines(config.firewall.body_timeout_s, config.firewall.body_min_rate)
    return App(
        routes=_exchanged(
            [
                *openai.routes("/v1"),
                # A dialect's own prefix pins the provider of that name when one is
                # configured, else it is the dialect's unpinned route.
                under("/v1/openai", partial(openai.routes, pin="openai", strict=False)),
                under("/v1/model-router", partial(openai.routes, router=True)),
                under("/v1/anthropic", partial(anthropic.routes, pin="anthropic", strict=False)),
                under("/v1/gemini", partial(gemini.routes, pin="gemini", strict=False)),
                under("/v1/bedrock", partial(bedrock.routes, pin="bedrock", strict=False)),
                under("/v1/cohere", partial(cohere.routes, pin="cohere", strict=False)),
                under("/v1/azure", azure.routes),
                under("/v1/ollama", ollama.routes),
                # Each configured provider's own prefix, pinned to it (`/v1/groq/...`).
                *providers.mounts(config.providers),
                *anthropic.routes("", listing=False),
                *ops.routes(),
                *oauth.routes(),
                *admin.routes(),
                *admin_guardrails.routes(),
                *gateways.routes(),
                *interactions.routes(),
                *console.routes(),
                # A proxy id in the URL; after the fixed routes, which they would otherwise
                # shadow.
                *anthropic.routes("/{proxy}", listing=False),
                *openai.routes("/{proxy}"),
            ],
            deadlines,
        ),
        lifespan=lifespan,
        exception_handlers={
            GatewayError: _gateway_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )


def _exchanged(routes: list[BaseRoute], deadlines: Deadlines) -> list[BaseRoute]:
    """Every route but the generation endpoints (which do it themselves) inside an `Exchange`:
    request ids, body deadlines, `Connection: close` on early answers. What no route answers
    (404, 405, an error that escapes) gets the same from the handlers below."""
    for route in routes:
        if isinstance(route, Mount):
            _exchanged(route.routes, deadlines)
        elif isinstance(route, Route) and not isinstance(route.app, Generation):
            route.app = Exchange(route.app, deadlines)
    return routes


def _outside_routes(request: Request, response: Response) -> Response:
    """Ids and `Connection: close` for an answer no route's exchange saw."""
    scope = request.scope
    request_id = scope.get(REQUEST_ID_KEY) or next_request_id()
    headers = stamped(response.raw_headers, request_id)
    if may_leave_bytes(scope):
        headers.append(close_header())
    response.raw_headers = headers
    return response


def _settle_gc() -> None:
    """Everything built at start-up lives as long as the worker: frozen, the collector never
    walks it again, and young collections run less often (a request allocates hundreds of
    containers that die with it, which reference counting frees anyway)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_GC_GEN0_THRESHOLD, 20, 20)


def app_from_env() -> Starlette:
    """Granian factory target: each worker loads the config named by PALISADE_CONFIG."""
    return create_app(load_config(os.environ[CONFIG_ENV]))


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return _routed(request, exc.to_response())


def _routed(request: Request, response: Response) -> Response:
    """Inside a route the exchange stamps the answer; outside (the router's 404 and 405) this
    does."""
    if REQUEST_ID_KEY in request.scope:
        return response
    return _outside_routes(request, response)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.headers.get("upgrade", "").lower() == "websocket":
        # No route speaks WebSocket. 426 is what Codex takes as "use HTTP" at once; any other
        # status sends it through its retries first.
        return _routed(
            request,
            GatewayError(
                "Palisade: WebSocket mode is not supported; send the request over HTTP "
                f"(POST {request.url.path}).",
                status=426,
                code="websocket_not_supported",
            ).to_response(),
        )
    if exc.status_code == 404:
        error: GatewayError = NotFound(
            f"Palisade: no route for {request.method} {request.url.path}."
        )
    else:
        error = GatewayError(
            f"Palisade: {exc.detail}", status=exc.status_code, code=f"http_{exc.status_code}"
        )
    response = error.to_response()
    if exc.headers:
        response.headers.update(exc.headers)
    return _routed(request, response)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Logged with its traceback here; the client gets a generic message, never internals.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # Sent by Starlette's outermost layer, past any exchange: always stamped here.
    error = InternalError("Palisade: internal error; the incident was logged.")
    return _outside_routes(request, error.to_response())
