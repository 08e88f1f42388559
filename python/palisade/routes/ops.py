"""Operational endpoints: liveness and readiness."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from palisade.gateway import Gateway


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    gw: Gateway | None = getattr(request.app.state, "gateway", None)
    checks = {"upstream_pool": gw is not None and not gw.session.closed}
    ok = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503
    )


def routes() -> list[BaseRoute]:
    return [Route("/health", health, methods=["GET"]), Route("/ready", ready, methods=["GET"])]
