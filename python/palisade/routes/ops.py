"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from palisade.errors import NotFound
from palisade.gateway import Gateway
from palisade.telemetry.metrics import exposition
from palisade.upstream.health import readiness


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    gw: Gateway | None = getattr(request.app.state, "gateway", None)
    checks = {"upstream_pool": gw is not None and not gw.session.closed}
    deployments: dict[str, object] = {}
    if gw is not None:
        # Reported; not ready only when a configured model has every breaker open.
        deployments, checks["models"] = readiness(gw.routing, gw.probes)
    ok = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks, "deployments": deployments},
        status_code=200 if ok else 503,
    )


async def metrics(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    if gw.recording is None or gw.recording.metrics is None:
        raise NotFound("Palisade: metrics are off (`metrics.enabled`).", code="metrics_disabled")
    # Reads every worker's files in multiprocess mode: off the event loop.
    body, content_type = await run_in_threadpool(exposition, gw.recording.metrics)
    return Response(body, media_type=content_type)


def routes() -> list[BaseRoute]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
