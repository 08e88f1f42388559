"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from palisade.errors import GatewayError, NotFound
from palisade.gateway import Gateway
from palisade.readiness import run_checks
from palisade.telemetry.metrics import exposition
from palisade.telemetry.metrics_port import bearer_matches
from palisade.upstream.health import readiness


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    gw: Gateway | None = getattr(request.app.state, "gateway", None)
    if gw is None:
        return JSONResponse({"status": "not_ready", "checks": {}}, status_code=503)
    if gw.shutdown is not None and gw.shutdown.draining:
        # Before the checks: a draining worker is out whatever its stores say.
        return JSONResponse({"status": "draining", "checks": {}}, status_code=503)
    checks = await run_checks(gw.ready_checks)
    body: dict[str, object] = {"status": "ready", "checks": checks}
    if gw.routing.groups:
        # Deployments are reported; not ready only when a configured model has none usable.
        body["deployments"], usable = readiness(gw.routing, gw.probes)
        checks["models"] = "ok" if usable else "a model under `models` has no usable deployment"
    if all(outcome == "ok" for outcome in checks.values()):
        return JSONResponse(body)
    body["status"] = "not_ready"
    return JSONResponse(body, status_code=503)


class MetricsUnauthorized(GatewayError):
    status = 401
    type = "authentication_error"
    code = "metrics_unauthorized"

    def __init__(self) -> None:
        super().__init__(
            "Palisade: /metrics needs `Authorization: Bearer <metrics.token>`.",
            headers={"www-authenticate": 'Bearer realm="metrics"'},
        )


async def metrics(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    config = gw.config.metrics
    if gw.recording is None or gw.recording.metrics is None or config.port is not None:
        raise NotFound(
            "Palisade: metrics are off (`metrics.enabled`) or served on `metrics.port`.",
            code="metrics_disabled",
        )
    if config.token is not None and not bearer_matches(
        request.headers.get("authorization"), config.token
    ):
        raise MetricsUnauthorized
    # Reads every worker's files in multiprocess mode: off the event loop.
    body, content_type = await run_in_threadpool(exposition, gw.recording.metrics)
    return Response(body, media_type=content_type)


def routes() -> list[BaseRoute]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
