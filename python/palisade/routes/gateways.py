"""`/admin/v1/gateways` and `/admin/v1/proxies/{id}/deployments`: deploy an LLM proxy to a
gateway (a named group of replicas, `server.gateway`), stop it there, its history, roll back.

Reads need the viewer role, writes the admin role. A change is a record in the store
(store/proxy_deployments.py); this worker applies it before answering, every other worker of
every replica within a poll (`identity.sync_interval_s`). The answers are built by deploy.py,
which the CLI shares.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from palisade import deploy
from palisade.errors import BadRequest, GatewayError, NotFound
from palisade.gateway import Gateway
from palisade.identity import runtime
from palisade.identity.runtime import Identity
from palisade.routes.admin import _body, _endpoint, _json
from palisade.routes.admin_auth import Role
from palisade.store import proxy_deployments as store
from palisade.store.proxy_deployments import Deployment, DeploymentError

# What each refusal of the store is, as an HTTP status.
_STATUS = {
    "proxy_not_found": 404,
    "deployment_not_found": 404,
    "invalid_gateway": 400,
    "unknown_version": 400,
    "invalid_proxy": 409,
    "already_deployed": 409,
    "not_deployed": 409,
    "nothing_to_roll_back": 409,
}
_PARAM = {"invalid_gateway": "gateway", "unknown_version": "version"}


def _refused(exc: DeploymentError) -> GatewayError:
    status = _STATUS.get(exc.code, 409)
    cls = NotFound if status == 404 else GatewayError
    return cls(f"Palisade: {exc}.", status=status, code=exc.code, param=_PARAM.get(exc.code))


async def _change(
    gw: Gateway, identity: Identity, fn: Callable[[sqlite3.Connection], Deployment]
) -> dict[str, Any]:
    """Writes the record, applies it on this worker, and answers it with its tags."""

    def write(conn: sqlite3.Connection) -> dict[str, Any]:
        return deploy.written(conn, fn(conn))

    try:
        answer = await identity.db.run(write)
    except DeploymentError as exc:
        raise _refused(exc) from None
    await runtime.refresh(gw, identity)
    return answer


def _number(text: str | None, name: str, low: int = 1, high: int = 2**62) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadRequest(f"Palisade: `{name}` must be a whole number from {low}.", param=name)
    return int(text)


async def list_gateways(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    name = gw.config.server.gateway
    return _json(await identity.db.run(lambda conn: deploy.gateways(conn, name)))


async def list_proxy_deployments(
    request: Request, gw: Gateway, identity: Identity, who: Role
) -> Response:
    pid = request.path_params["id"]
    query = request.query_params
    limit = _number(query.get("limit", "100"), "limit", 1, 1000)
    before = _number(query.get("before"), "before")
    assert limit is not None
    found = await identity.db.run(lambda conn: deploy.history(conn, pid, limit, before))
    if found is None:
        raise NotFound(f"Palisade: no LLM proxy has the id `{pid[:64]}`.", code="proxy_not_found")
    return _json(found)


async def list_proxy_versions(
    request: Request, gw: Gateway, identity: Identity, who: Role
) -> Response:
    pid = request.path_params["id"]
    found = await identity.db.run(lambda conn: store.proxy_versions(conn, pid))
    if not found:
        raise NotFound(f"Palisade: no LLM proxy has the id `{pid[:64]}`.", code="proxy_not_found")
    return _json({"object": "list", "proxy": pid, "data": found})


async def deploy_proxy(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    pid = request.path_params["id"]
    body = await _body(request)
    unknown = sorted(set(body) - {"gateway", "version"})
    if unknown:
        raise BadRequest(
            f"Palisade: unknown field `{unknown[0][:64]}` (known: gateway, version).",
            param=unknown[0][:64],
        )
    gateway = body.get("gateway")
    if not isinstance(gateway, str):
        raise BadRequest(
            "Palisade: `gateway` (the gateway's name, a string) is required.", param="gateway"
        )
    version = body.get("version")
    if version is not None and (
        not isinstance(version, int) or isinstance(version, bool) or version < 1
    ):
        raise BadRequest(
            "Palisade: `version` must be a proxy version number (omit it for the newest).",
            param="version",
        )
    check = deploy.checker(gw.config, identity.guardrails)
    answer = await _change(
        gw,
        identity,
        lambda conn: store.deploy(conn, who, pid, gateway, version, check=check),
    )
    return _json(answer, status=201)


async def stop_proxy(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    pid, gateway = request.path_params["id"], request.path_params["gateway"]
    answer = await _change(gw, identity, lambda conn: store.stop(conn, who, pid, gateway))
    return _json(answer)


async def rollback(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    pid = request.path_params["id"]
    number = _number(request.path_params["deployment"], "deployment")
    assert number is not None
    check = deploy.checker(gw.config, identity.guardrails)

    def roll(conn: sqlite3.Connection) -> Deployment:
        target = store.get(conn, number)
        if target is None or target.proxy_id != pid:
            raise DeploymentError(
                "deployment_not_found", f"the LLM proxy `{pid[:64]}` has no deployment {number}"
            )
        return store.rollback(conn, who, number, check=check)

    return _json(await _change(gw, identity, roll), status=201)


def routes() -> list[BaseRoute]:
    p = "/admin/v1"
    d = f"{p}/proxies/{{id}}/deployments"
    return [
        Route(f"{p}/gateways", _endpoint("viewer", list_gateways), methods=["GET"]),
        Route(d, _endpoint("viewer", list_proxy_deployments), methods=["GET"]),
        Route(d, _endpoint("admin", deploy_proxy), methods=["POST"]),
        Route(f"{d}/{{gateway}}", _endpoint("admin", stop_proxy), methods=["DELETE"]),
        Route(f"{d}/{{deployment}}/rollback", _endpoint("admin", rollback), methods=["POST"]),
        Route(
            f"{p}/proxies/{{id}}/versions",
            _endpoint("viewer", list_proxy_versions),
            methods=["GET"],
        ),
    ]
