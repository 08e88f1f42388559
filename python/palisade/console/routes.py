"""`/console`: the page, its static files (package data, read once), and the sign-in endpoint.

Everything is served from this package: no CDN, no build step. Every answer carries a strict
Content-Security-Policy (scripts and styles from this origin only, no inline script, no
framing): interaction contents are attacker-controlled text, and the page renders them as text
(never as HTML), which the policy backs up.
"""

from __future__ import annotations

import mimetypes
from functools import cache
from importlib import resources

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from palisade.console import session as sessions
from palisade.errors import BadRequest, GatewayError, NotFound
from palisade.gateway import Gateway
from palisade.routes.admin_auth import role_of_token

_MAX_SIGN_IN_BYTES = 4096
_SIGN_IN = "console-sign-in"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


@cache
def _assets() -> dict[str, tuple[bytes, str]]:
    """The static files by name, read once per worker (the wheel carries them as package data)."""
    found: dict[str, tuple[bytes, str]] = {}
    root = resources.files("palisade.console") / "static"
    for entry in root.iterdir():
        if entry.is_file():
            suffix = "." + entry.name.rsplit(".", 1)[-1]
            kind = _TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0] or "text/plain"
            if kind.startswith("text/"):
                kind += "; charset=utf-8"
            found[entry.name] = (entry.read_bytes(), kind)
    return found


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _json(payload: object, status: int = 200) -> Response:
    return _secured(
        Response(orjson.dumps(payload), status_code=status, media_type="application/json")
    )


def _admin(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    if gw.config.admin.token is None and gw.config.admin.viewer_token is None:
        raise GatewayError(
            "Palisade: the console is off; set `admin.token` in the config to turn it on.",
            status=404,
            code="admin_api_disabled",
        )
    return gw


async def page(request: Request) -> Response:
    _admin(request)
    body, kind = _assets()["index.html"]
    return _secured(Response(body, media_type=kind))


async def to_page(request: Request) -> Response:
    return _secured(RedirectResponse("/console/", status_code=308))


async def asset(request: Request) -> Response:
    found = _assets().get(request.path_params["name"])
    if found is None or request.path_params["name"] == "index.html":
        raise NotFound("Palisade: no such console file.", code="not_found")
    body, kind = found
    return _secured(Response(body, media_type=kind))


async def sign_in(request: Request) -> Response:
    """`{"token": "..."}` -> the session cookie; JSON only, which no cross-site form can send."""
    gw = _admin(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise GatewayError(
            "Palisade: sign in with a JSON body.", status=415, code="unsupported_media_type"
        )
    raw = await request.body()
    try:
        body = orjson.loads(raw) if len(raw) <= _MAX_SIGN_IN_BYTES else None
    except orjson.JSONDecodeError:
        body = None
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        raise BadRequest('Palisade: the body must be `{"token": "..."}`.', param="token")
    # Guessing is braked like every credential's (identity/failures.py), per client address.
    address = request.client.host if request.client else "-"
    if gw.identity is not None:
        gw.identity.failures.check(address, _SIGN_IN)
    role = role_of_token(token.strip().encode(), gw.config.admin)
    if role is None:
        if gw.identity is not None:
            gw.identity.failures.failed(address, _SIGN_IN, "console", "invalid_admin_token")
        raise GatewayError(
            "Palisade: that token is neither the admin nor the viewer token.",
            status=401,
            type="authentication_error",
            code="invalid_admin_token",
        )
    value, session = sessions.issue(gw.config.admin, role)
    response = _json({"role": session.role, "csrf": session.csrf, "expires": session.expires})
    response.headers["set-cookie"] = sessions.cookie_header(request, value, sessions.TTL_S)
    return response


async def current(request: Request) -> Response:
    gw = _admin(request)
    session = sessions.from_request(request, gw.config.admin)
    if session is None:
        raise GatewayError(
            "Palisade: not signed in.",
            status=401,
            type="authentication_error",
            code="invalid_console_session",
        )
    return _json({"role": session.role, "csrf": session.csrf, "expires": session.expires})


async def sign_out(request: Request) -> Response:
    gw = _admin(request)
    session = sessions.from_request(request, gw.config.admin)
    if session is not None and not sessions.csrf_ok(request, session):
        raise GatewayError(
            f"Palisade: signing out needs the session's CSRF token in `{sessions.CSRF_HEADER}`.",
            status=403,
            type="permission_error",
            code="csrf_token_invalid",
        )
    response = _json({"signed_out": True})
    response.headers["set-cookie"] = sessions.cookie_header(request, "", 0)
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/console", to_page, methods=["GET"]),
        Route("/console/", page, methods=["GET"]),
        Route("/console/static/{name}", asset, methods=["GET"]),
        Route("/console/session", sign_in, methods=["POST"]),
        Route("/console/session", current, methods=["GET"]),
        Route("/console/session", sign_out, methods=["DELETE"]),
    ]
