"""create_app(config) -> Starlette: the routes and a lifespan that owns the upstream pool."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from palisade.config import Config, load_config
from palisade.errors import GatewayError, InternalError, NotFound
from palisade.exchange import Exchange
from palisade.gateway import Gateway
from palisade.identity import runtime as identity
from palisade.pipeline.admission import Admission, open_store
from palisade.pipeline.record import Recording
from palisade.pricing import PriceTable
from palisade.routes import admin, interactions, oauth, openai, ops
from palisade.shutdown import Shutdown
from palisade.telemetry.tracing import Tracing
from palisade.upstream.client import create_session
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
        follow = asyncio.create_task(identity.follow(gateway, ident))
        shutdown = Shutdown(config.server.shutdown_grace_s)
        shutdown.install()
        _settle_gc()
        try:
            yield
        finally:
            shutdown.uninstall()
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follow
            await admission.close()
            await ident.db.close()
            await session.close()
            recording.drain()
            await run_in_threadpool(recording.stop)

    return _App(
        config,
        routes=[
            *openai.routes("/v1"),
            *openai.routes("/v1/openai"),
            *ops.routes(),
            *oauth.routes(),
            *admin.routes(),
            *interactions.routes(),
            # A proxy id in the URL; after the fixed routes, which they would otherwise shadow.
            *openai.routes("/v1/openai/{proxy}"),
            *openai.routes("/{proxy}"),
        ],
        lifespan=lifespan,
        exception_handlers={
            GatewayError: _gateway_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )


class _App(Starlette):
    """Starlette with `Exchange` outside its whole stack, its error middleware included, so
    that every answer (an unexpected 500 too) carries the request id."""

    def __init__(self, config: Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._firewall = config.firewall

    def build_middleware_stack(self) -> ASGIApp:
        return Exchange(
            super().build_middleware_stack(),
            body_timeout_s=self._firewall.body_timeout_s,
            body_min_rate=self._firewall.body_min_rate,
        )


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
    return exc.to_response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.headers.get("upgrade", "").lower() == "websocket":
        # No route speaks WebSocket. 426 is what Codex takes as "use HTTP" at once; any other
        # status sends it through its retries first.
        return GatewayError(
            "Palisade: WebSocket mode is not supported; send the request over HTTP "
            f"(POST {request.url.path}).",
            status=426,
            code="websocket_not_supported",
        ).to_response()
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
    return response


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Logged with its traceback here; the client gets a generic message, never internals.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return InternalError("Palisade: internal error; the incident was logged.").to_response()
