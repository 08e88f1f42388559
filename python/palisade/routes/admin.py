"""`/admin/v1/`: LLM proxies and their versions, virtual keys, OAuth clients, deployments
(guardrails: routes/admin_guardrails.py).

Reads need the viewer role, writes the admin role (routes/admin_auth.py). Proxy changes are
numbered versions (who, when, what) that can be listed and rolled back; every change lands in
the store and reaches all workers within a poll (this worker applies it before answering).
Secrets (a key's token, a client's secret) are in the creating response only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from palisade.config import ConfigError, Guardrail, parse_proxy, proxy_to_dict
from palisade.errors import BadRequest, GatewayError, NotFound
from palisade.gateway import Gateway
from palisade.identity import runtime
from palisade.identity.runtime import Identity
from palisade.routes.admin_auth import Role, require_role
from palisade.store import clients, keys, proxies
from palisade.store.guardrails import GuardrailConflict
from palisade.store.proxies import ProxyConflict
from palisade.upstream import health

_MAX_BODY = 1 << 20


class Conflict(GatewayError):
    status = 409
    code = "conflict"


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _identity(request: Request) -> tuple[Gateway, Identity]:
    gw: Gateway = request.app.state.gateway
    if gw.identity is None:
        raise GatewayError("Palisade: the admin API needs the store.", status=503)
    return gw, gw.identity


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise BadRequest("Palisade: the request body is too large.", code="request_too_large")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise BadRequest("Palisade: the body must be a JSON object.", code="invalid_json")
    return body


async def _write(gw: Gateway, identity: Identity, fn: Callable[[sqlite3.Connection], Any]) -> Any:
    try:
        result = await identity.db.run(fn)
    except ProxyConflict as exc:
        raise Conflict(f"Palisade: {exc}.") from None
    except GuardrailConflict as exc:
        # An unknown name or version is not there (404); anything else clashes (409).
        status = 404 if exc.code.endswith("not_found") else 409
        raise Conflict(f"Palisade: {exc}.", status=status, code=exc.code) from None
    await runtime.refresh(gw, identity)
    return result


def _proxy_view(gw: Gateway, raw: dict[str, Any]) -> dict[str, Any]:
    pid = raw["id"]
    return {
        **raw,
        "served": pid in gw.proxies,
        "paths": [f"/{pid}", f"/v1/openai/{pid}"],
    }


def _endpoint(
    role: Role, handler: Callable[[Request, Gateway, Identity, Role], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        gw: Gateway = request.app.state.gateway
        who = require_role(request, gw.config.admin, role)
        gw, identity = _identity(request)
        return await handler(request, gw, identity, who)

    return endpoint


# -- proxies and versions ---------------------------------------------------------------


async def _current(identity: Identity) -> proxies.Version:
    latest = await identity.db.run(proxies.current)
    assert latest is not None  # seeded on start
    return latest


async def list_proxies(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    latest = await _current(identity)
    return _json(
        {
            "object": "list",
            "version": latest.version,
            "data": [_proxy_view(gw, p) for p in latest.proxies],
        }
    )


async def get_proxy(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    pid = request.path_params["id"]
    for p in (await _current(identity)).proxies:
        if p["id"] == pid:
            return _json(_proxy_view(gw, p))
    raise NotFound(f"Palisade: no LLM proxy has the id `{pid[:64]}`.", code="proxy_not_found")


async def current_guardrails(identity: Identity) -> dict[str, Guardrail]:
    """The store's set, read now: this worker's copy may be a poll behind another's write."""
    return await identity.db.run(runtime.current_guardrails)


def _validated(
    gw: Gateway, guardrails: dict[str, Guardrail], body: dict[str, Any]
) -> dict[str, Any]:
    try:
        proxy = parse_proxy(body, guardrails, source="proxy")
    except ConfigError as exc:
        raise BadRequest(f"Palisade: {exc}", code="invalid_proxy") from None
    known = {p.name for p in gw.config.providers}
    for name in proxy.providers:
        if name not in known:
            raise BadRequest(
                f"Palisade: proxy: providers: no provider is named {name!r}.",
                code="invalid_proxy",
            )
    return proxy_to_dict(proxy)


async def create_proxy(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    proxy = _validated(gw, await current_guardrails(identity), await _body(request))
    version: proxies.Version = await _write(
        gw, identity, lambda conn: proxies.put(conn, who, proxy, create=True)
    )
    created = next(p for p in version.proxies if p["id"] == proxy["id"])
    return _json(_proxy_view(gw, created), status=201)


async def update_proxy(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    pid = request.path_params["id"]
    body = await _body(request)
    if body.setdefault("id", pid) != pid:
        raise BadRequest("Palisade: a proxy's id cannot change.", param="id", code="invalid_proxy")
    proxy = _validated(gw, await current_guardrails(identity), body)
    version: proxies.Version = await _write(
        gw, identity, lambda conn: proxies.put(conn, who, proxy, create=False)
    )
    return _json(_proxy_view(gw, next(p for p in version.proxies if p["id"] == pid)))


async def delete_proxy(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    pid = request.path_params["id"]
    if pid == gw.config.default_proxy:
        raise Conflict(
            f"Palisade: `{pid}` is the default proxy (`default_proxy` in the config); "
            "it cannot be deleted.",
            code="default_proxy",
        )
    version: proxies.Version = await _write(
        gw, identity, lambda conn: proxies.delete(conn, who, pid)
    )
    return _json({"deleted": pid, "version": version.version})


def version_page(request: Request) -> tuple[int, int | None]:
    """A history page's `limit` and `before` (a version number) from the query."""
    before = request.query_params.get("before")
    limit = request.query_params.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000 or (before and not before.isdigit()):
        raise BadRequest("Palisade: `limit` is 1-1000 and `before` a version number.")
    return int(limit), int(before) if before else None


async def list_versions(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    limit, before = version_page(request)
    found = await identity.db.run(lambda conn: proxies.versions(conn, limit, before))
    return _json({"object": "list", "data": [v.summary() for v in found]})


def _version_number(request: Request) -> int:
    text = request.path_params["version"]
    if not text.isdigit():
        raise NotFound("Palisade: a version is a number.", code="version_not_found")
    return int(text)


async def get_version(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    number = _version_number(request)
    found = await identity.db.run(lambda conn: proxies.get_version(conn, number))
    if found is None:
        raise NotFound(f"Palisade: there is no version {number}.", code="version_not_found")
    return _json({**found.summary(), "proxies": found.proxies})


async def rollback(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    number = _version_number(request)
    version: proxies.Version = await _write(
        gw, identity, lambda conn: proxies.rollback(conn, who, number)
    )
    return _json({**version.summary(), "proxies": version.proxies})


# -- keys and clients -----------------------------------------------------------------------


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise BadRequest(
            f"Palisade: `{name}` must be a non-empty string (at most 256 characters).",
            param=name,
        )
    return value.strip()


async def _known_proxy(identity: Identity, pid: str) -> None:
    if not any(p["id"] == pid for p in (await _current(identity)).proxies):
        raise BadRequest(
            f"Palisade: no LLM proxy has the id `{pid[:64]}`.",
            param="proxy",
            code="proxy_not_found",
        )


async def create_key(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    body = await _body(request)
    allowed = {"proxy", "name", "expires", "user", "providers", *keys.LIMIT_KEYS}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(
            f"Palisade: unknown field `{unknown[0]}` (known: {', '.join(sorted(allowed))}).",
            param=unknown[0],
        )
    pid = _text(body, "proxy", required=True)
    name = _text(body, "name", required=True)
    assert pid is not None
    assert name is not None
    await _known_proxy(identity, pid)
    expires = _text(body, "expires")
    user = _text(body, "user")
    providers = body.get("providers") or []
    known = {p.name for p in gw.config.providers}
    if not isinstance(providers, list) or not all(
        isinstance(p, str) and p in known for p in providers
    ):
        raise BadRequest(
            f"Palisade: `providers` must list configured providers ({', '.join(sorted(known))}).",
            param="providers",
        )
    try:
        expires_at = None if expires is None else keys.parse_expiry(expires)
        limits = keys.parse_limits({k: body.get(k) for k in keys.LIMIT_KEYS})
    except ValueError as exc:
        raise BadRequest(f"Palisade: {exc}.", code="invalid_key_request") from None
    key, token = await _write(
        gw,
        identity,
        lambda conn: keys.create(
            conn,
            proxy_id=pid,
            name=name,
            expires_at=expires_at,
            user_id=user,
            providers=tuple(providers),
            limits=limits,
        ),
    )
    return _json({**key.public(), "key": token}, status=201)


async def list_keys(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    pid = request.query_params.get("proxy")
    found = await identity.db.run(lambda conn: keys.listing(conn, pid))
    return _json({"object": "list", "data": [k.public() for k in found]})


async def get_key(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    kid = request.path_params["id"]
    key = await identity.db.run(lambda conn: keys.get(conn, kid))
    if key is None:
        raise NotFound(f"Palisade: there is no key `{kid[:32]}`.", code="key_not_found")
    return _json(key.public())


async def revoke_key(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    kid = request.path_params["id"]
    key = await _write(gw, identity, lambda conn: keys.revoke(conn, kid))
    if key is None:
        raise NotFound(f"Palisade: there is no key `{kid[:32]}`.", code="key_not_found")
    return _json(key.public())


async def create_client(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    body = await _body(request)
    pid = _text(body, "proxy", required=True)
    name = _text(body, "name", required=True)
    assert pid is not None
    assert name is not None
    await _known_proxy(identity, pid)
    user = _text(body, "user")
    client, secret = await _write(
        gw, identity, lambda conn: clients.create(conn, proxy_id=pid, name=name, user_id=user)
    )
    return _json({**client.public(), "client_id": client.id, "client_secret": secret}, status=201)


async def list_clients(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    found = await identity.db.run(clients.listing)
    return _json({"object": "list", "data": [c.public() for c in found]})


async def revoke_client(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    cid = request.path_params["id"]
    client = await _write(gw, identity, lambda conn: clients.revoke(conn, cid))
    if client is None:
        raise NotFound(f"Palisade: there is no client `{cid[:32]}`.", code="client_not_found")
    return _json(client.public())


# -- deployments ----------------------------------------------------------------------------


async def list_deployments(request: Request) -> Response:
    """The answering worker's view of the configured deployments (needs no store)."""
    gw: Gateway = request.app.state.gateway
    require_role(request, gw.config.admin, "viewer")
    return _json(health.deployments(gw.routing, gw.probes))


def routes() -> list[BaseRoute]:
    p = "/admin/v1"
    return [
        Route(f"{p}/proxies", _endpoint("viewer", list_proxies), methods=["GET"]),
        Route(f"{p}/proxies", _endpoint("admin", create_proxy), methods=["POST"]),
        Route(f"{p}/proxies/{{id}}", _endpoint("viewer", get_proxy), methods=["GET"]),
        Route(f"{p}/proxies/{{id}}", _endpoint("admin", update_proxy), methods=["PUT"]),
        Route(f"{p}/proxies/{{id}}", _endpoint("admin", delete_proxy), methods=["DELETE"]),
        Route(f"{p}/versions", _endpoint("viewer", list_versions), methods=["GET"]),
        Route(f"{p}/versions/{{version}}", _endpoint("viewer", get_version), methods=["GET"]),
        Route(f"{p}/versions/{{version}}/rollback", _endpoint("admin", rollback), methods=["POST"]),
        Route(f"{p}/keys", _endpoint("viewer", list_keys), methods=["GET"]),
        Route(f"{p}/keys", _endpoint("admin", create_key), methods=["POST"]),
        Route(f"{p}/keys/{{id}}", _endpoint("viewer", get_key), methods=["GET"]),
        Route(f"{p}/keys/{{id}}", _endpoint("admin", revoke_key), methods=["DELETE"]),
        Route(f"{p}/clients", _endpoint("viewer", list_clients), methods=["GET"]),
        Route(f"{p}/clients", _endpoint("admin", create_client), methods=["POST"]),
        Route(f"{p}/clients/{{id}}", _endpoint("admin", revoke_client), methods=["DELETE"]),
        Route(f"{p}/deployments", list_deployments, methods=["GET"]),
    ]
