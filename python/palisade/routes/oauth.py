"""`POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 4.4).

The client authenticates with HTTP Basic or `client_id`/`client_secret` form fields and gets
a short-lived bearer token for its LLM proxy (scope `llm:proxy`). Errors use the RFC's own
format (`{"error", "error_description"}`), not the OpenAI one: OAuth client libraries read it.
Failed client authentications count against the same limiter as the LLM routes.
"""

from __future__ import annotations

import base64
import binascii
import math
from urllib.parse import parse_qs, unquote

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from palisade.gateway import Gateway
from palisade.identity import credentials
from palisade.identity.failures import TooManyFailures
from palisade.store import clients

SCOPE = "llm:proxy"
_MAX_FORM_BYTES = 8192
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps({"error": error, "error_description": f"Palisade: {description}"}),
        status_code=status,
        media_type="application/json",
        headers={**_NO_STORE, **(headers or {})},
    )


def _basic(header: str | None) -> tuple[str, str] | None:
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    return (unquote(client_id), unquote(secret)) if sep else None


async def token(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    identity = gw.identity
    if identity is None:
        return _error(503, "temporarily_unavailable", "the token endpoint needs the store.")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        return _error(400, "invalid_request", "send the parameters form-encoded.")
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return _error(400, "invalid_request", "the request is too large.")
    try:
        form = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return _error(400, "invalid_request", "the body is not valid form data.")
    if any(len(v) > 1 for v in form.values()):
        return _error(400, "invalid_request", "a parameter is repeated.")
    params = {k: v[0] for k, v in form.items()}
    grant = params.get("grant_type")
    if grant is None:
        return _error(400, "invalid_request", "`grant_type` is missing.")
    if grant != "client_credentials":
        return _error(
            400, "unsupported_grant_type", "only `grant_type=client_credentials` is supported."
        )
    basic = _basic(request.headers.get("authorization"))
    if basic is not None and ("client_id" in params or "client_secret" in params):
        return _error(400, "invalid_request", "authenticate the client one way only.")
    client_id, secret = basic or (params.get("client_id", ""), params.get("client_secret", ""))
    address = request.client.host if request.client else "-"
    prefix = client_id[:32]
    try:
        identity.failures.check(address, prefix)
    except TooManyFailures as exc:
        return _error(429, "slow_down", exc.message.removeprefix("Palisade: "), exc.headers)
    client = (
        await identity.directory.client(client_id)
        if client_id.startswith(clients.CLIENT_ID_PREFIX) and len(client_id) <= 64
        else None
    )
    ok = credentials.verify(secret, None if client is None else client.secret_hash)
    if client is None or not ok or client.revoked_at is not None:
        identity.failures.failed(address, prefix, "oauth_client", "invalid_client")
        headers = {"www-authenticate": 'Basic realm="palisade"'} if basic is not None else None
        return _error(401, "invalid_client", "client authentication failed.", headers)
    scope = params.get("scope", SCOPE)
    if set(scope.split()) != {SCOPE}:
        return _error(400, "invalid_scope", f"the only scope is `{SCOPE}`.")
    ttl = identity.config.identity.oauth_token_ttl_s
    _, access_token = await identity.db.run(lambda conn: clients.issue_token(conn, client.id, ttl))
    return Response(
        orjson.dumps(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": math.floor(ttl),
                "scope": SCOPE,
            }
        ),
        media_type="application/json",
        headers=_NO_STORE,
    )


def routes() -> list[BaseRoute]:
    return [Route("/oauth/token", token, methods=["POST"])]
