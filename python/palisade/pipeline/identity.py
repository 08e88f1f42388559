"""Stage 2, identity: who is calling, checked against what the proxy accepts (`auth`).

A proxy without `auth` is open: no credential is checked and the client's Authorization never
leaves the gateway. Otherwise the bearer token decides the method: `pal-...` a virtual key,
`pat-...` an OAuth access token, a JWT (three base64url parts) when the proxy accepts JWTs,
and anything else the client's own provider key when the proxy allows passthrough. Our own
tokens are never forwarded to a provider. Secrets are never logged or echoed: errors say what
is wrong (expired, revoked, bad signature, ...) only once the secret itself has checked out,
and never the expected values.

An authenticated identity wins over the User-Id attribution header: a key's or client's
`user`, a JWT's `email` (else `sub`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jwt

from palisade.config import AuthMethod, JwtConfig
from palisade.errors import GatewayError
from palisade.identity import credentials
from palisade.identity.credentials import ACCESS_TOKEN, VIRTUAL_KEY, Credential
from palisade.pipeline.context import RequestContext

if TYPE_CHECKING:
    from palisade.identity.runtime import Identity


class Unauthorized(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"

    def __init__(self, message: str, code: str, *, verified: bool = False) -> None:
        super().__init__(message, code=code, headers={"www-authenticate": "Bearer"})
        # The credential itself checked out (revoked, expired, not accepted here): counted,
        # but not held against the address, since nobody is guessing.
        self.verified = verified


class Forbidden(GatewayError):
    status = 403
    type = "permission_error"


@dataclass(frozen=True, slots=True)
class Grant:
    """What the credential allows beyond the proxy: the client's own provider key to forward
    unchanged (passthrough), and the providers a virtual key is limited to."""

    provider_key: str | None = None
    providers: tuple[str, ...] = ()


OPEN = Grant()

_NAMES: dict[AuthMethod, str] = {
    "virtual_key": "virtual keys",
    "provider_key": "provider keys",
    "jwt": "JWTs",
    "oauth": "OAuth access tokens",
}


def _accepted(auth: tuple[AuthMethod, ...]) -> str:
    return ", ".join(_NAMES[m] for m in auth)


async def identify(
    ctx: RequestContext, headers: Mapping[str, str], address: str, identity: Identity | None
) -> Grant:
    """The credential is read from `headers` as the client's dialect presents it, and only
    when the proxy asks for one; `address`: the client's, for throttling failed attempts."""
    proxy = ctx.guards.proxy
    auth = proxy.auth
    if not auth:
        return OPEN
    token = ctx.surface.dialect.credential(headers)
    if identity is None:  # no store: only open proxies can be served
        raise GatewayError(
            "Palisade: authentication is not available in this gateway.",
            status=503,
            code="auth_unavailable",
        )
    if token is None:
        raise Unauthorized(
            f"Palisade: the LLM proxy `{proxy.id}` needs a credential in "
            f"{ctx.surface.dialect.credential_hint} (it accepts {_accepted(auth)}).",
            code="missing_credentials",
        )
    cred = credentials.parse(token)
    ours = cred is not None or credentials.looks_like_ours(token)
    a_jwt = "jwt" in auth and token.count(".") == 2 and token.startswith("eyJ")
    if not ours and not a_jwt and "provider_key" in auth:
        ctx.auth_method = "provider_key"
        return Grant(provider_key=token)
    # Our tokens by id; others (JWTs share their first characters) by their last ones.
    prefix = f"{cred.kind}-{cred.id}" if cred is not None else token[-16:]
    identity.failures.check(address, prefix)
    method = "jwt"
    try:
        if cred is not None and cred.kind == VIRTUAL_KEY:
            method = "virtual_key"
            return await _virtual_key(ctx, identity, cred, auth)
        if cred is not None and cred.kind == ACCESS_TOKEN:
            method = "oauth"
            return await _access_token(ctx, identity, cred, auth)
        if ours:  # our prefix, malformed
            method = "oauth" if token.startswith(ACCESS_TOKEN) else "virtual_key"
            raise Unauthorized("Palisade: the API key is not valid.", code="invalid_api_key")
        if "jwt" in auth and proxy.jwt is not None:
            return await _jwt(ctx, identity, proxy.jwt, token)
        method = "unknown"
        raise Unauthorized(
            f"Palisade: the credential is not one the LLM proxy `{proxy.id}` accepts "
            f"(it accepts {_accepted(auth)}).",
            code="invalid_api_key",
        )
    except Unauthorized as exc:
        identity.failures.failed(
            address, prefix, method, exc.code or "unauthorized", throttle=not exc.verified
        )
        raise


def _not_accepted(method: AuthMethod, auth: tuple[AuthMethod, ...]) -> Unauthorized:
    return Unauthorized(
        f"Palisade: this LLM proxy does not accept {_NAMES[method]} "
        f"(it accepts {_accepted(auth)}).",
        code="auth_method_not_accepted",
        verified=True,
    )


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


async def _virtual_key(
    ctx: RequestContext, identity: Identity, cred: Credential, auth: tuple[AuthMethod, ...]
) -> Grant:
    key = identity.directory.keys.get(cred.id)
    if key is None:
        key = await identity.directory.key(cred.id)
    if not credentials.verify(cred.secret, None if key is None else key.secret_hash):
        raise Unauthorized("Palisade: the API key is not valid.", code="invalid_api_key")
    assert key is not None
    if "virtual_key" not in auth:
        raise _not_accepted("virtual_key", auth)
    if key.revoked_at is not None:
        raise Unauthorized(
            "Palisade: this API key was revoked.", code="revoked_api_key", verified=True
        )
    if key.expires_at is not None and time.time() >= key.expires_at:
        raise Unauthorized(
            f"Palisade: this API key expired at {_when(key.expires_at)}.",
            code="expired_api_key",
            verified=True,
        )
    if key.proxy_id != ctx.proxy_id:
        raise Forbidden(
            f"Palisade: this API key belongs to another LLM proxy and cannot call "
            f"`{ctx.proxy_id}`.",
            code="key_proxy_mismatch",
        )
    ctx.auth_method = "virtual_key"
    ctx.key_id = key.id
    ctx.key_limits = key.limits or None
    if key.user_id is not None:
        ctx.user_id = key.user_id
    return Grant(providers=key.providers) if key.providers else OPEN


async def _access_token(
    ctx: RequestContext, identity: Identity, cred: Credential, auth: tuple[AuthMethod, ...]
) -> Grant:
    directory = identity.directory
    token = directory.tokens.get(cred.id)
    if token is None:
        token = await directory.token(cred.id)
    if not credentials.verify(cred.secret, None if token is None else token.secret_hash):
        raise Unauthorized("Palisade: the access token is not valid.", code="invalid_token")
    assert token is not None
    if "oauth" not in auth:
        raise _not_accepted("oauth", auth)
    if time.time() >= token.expires_at:
        raise Unauthorized(
            "Palisade: the access token has expired; get a new one at POST /oauth/token.",
            code="expired_token",
            verified=True,
        )
    client = directory.clients.get(token.client_id) or await directory.client(token.client_id)
    if client is None or client.revoked_at is not None:
        raise Unauthorized(
            "Palisade: the OAuth client of this access token was revoked.",
            code="revoked_client",
            verified=True,
        )
    if client.proxy_id != ctx.proxy_id:
        raise Forbidden(
            f"Palisade: this access token belongs to another LLM proxy and cannot call "
            f"`{ctx.proxy_id}`.",
            code="token_proxy_mismatch",
        )
    ctx.auth_method = "oauth"
    ctx.key_id = client.id
    if client.user_id is not None:
        ctx.user_id = client.user_id
    return OPEN


_JWT_ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "the JWT has expired", "expired_token"),
    (
        jwt.InvalidAudienceError,
        "the JWT is not meant for this LLM proxy (audience)",
        "invalid_audience",
    ),
    (
        jwt.InvalidIssuerError,
        "the JWT comes from an issuer this LLM proxy does not trust",
        "invalid_issuer",
    ),
    (jwt.ImmatureSignatureError, "the JWT is not valid yet", "token_not_yet_valid"),
    (
        jwt.MissingRequiredClaimError,
        "the JWT lacks a required claim (`exp`, `iss` or `aud`)",
        "missing_claim",
    ),
    (jwt.InvalidSignatureError, "the JWT's signature does not verify", "invalid_signature"),
    # The token's `alg` differs from the one its JWKS key is bound to.
    (jwt.InvalidAlgorithmError, "the JWT's signature does not verify", "invalid_signature"),
)


_MAX_VERIFIED_JWTS = 10_000


async def _jwt(ctx: RequestContext, identity: Identity, config: JwtConfig, token: str) -> Grant:
    cached = identity.verified_jwts.get((config, token))
    if cached is not None and time.time() < cached[0]:
        ctx.auth_method, ctx.user_id = "jwt", cached[1]
        return OPEN
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise Unauthorized(
            "Palisade: the bearer token is not a well-formed JWT.", code="invalid_token"
        ) from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in config.algorithms:
        raise Unauthorized(
            "Palisade: the JWT is signed with an algorithm this LLM proxy does not accept.",
            code="invalid_token",
        )
    if not isinstance(kid, str):
        raise Unauthorized("Palisade: the JWT names no signing key (`kid`).", code="invalid_token")
    key = await identity.jwks.key(config.jwks_url, kid)
    if key is None:
        raise Unauthorized(
            "Palisade: the JWT is signed with a key its identity provider does not publish "
            "(unknown `kid`).",
            code="unknown_signing_key",
        )
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=config.audience,
            issuer=config.issuer,
            options={"require": ["exp", "iss", "aud"]},
            leeway=30,
        )
    except jwt.InvalidTokenError as exc:
        for kind, message, code in _JWT_ERRORS:
            if isinstance(exc, kind):
                # PyJWT checks the claims only after the signature verified.
                raise Unauthorized(
                    f"Palisade: {message}.", code=code, verified=code != "invalid_signature"
                ) from None
        raise Unauthorized("Palisade: the JWT is not valid.", code="invalid_token") from None
    user = claims.get("email")
    if not isinstance(user, str) or not user:
        user = claims.get("sub")
    if not isinstance(user, str) or not user:
        raise Unauthorized(
            "Palisade: the JWT names no subject (`sub` or `email`).", code="missing_claim"
        )
    ctx.auth_method = "jwt"
    ctx.user_id = user[:256]
    if len(identity.verified_jwts) >= _MAX_VERIFIED_JWTS:
        identity.verified_jwts.clear()
    identity.verified_jwts[(config, token)] = (float(claims["exp"]), ctx.user_id)
    return OPEN


@lru_cache(maxsize=4096)
def _model_allowed(patterns: tuple[str, ...], model: str) -> bool:
    return any(fnmatchcase(model, p) for p in patterns)


def authorize_target(ctx: RequestContext, grant: Grant, provider: str, model: str) -> None:
    """After routing: the proxy's and the key's limits on providers and models (403)."""
    proxy = ctx.guards.proxy
    if proxy.providers and provider not in proxy.providers:
        raise Forbidden(
            f"Palisade: the LLM proxy `{proxy.id}` may not use the provider `{provider}`.",
            code="provider_not_allowed",
        )
    if grant.providers and provider not in grant.providers:
        raise Forbidden(
            f"Palisade: this API key may not use the provider `{provider}`.",
            code="provider_not_allowed",
        )
    if proxy.models and not (
        _model_allowed(proxy.models, model) or _model_allowed(proxy.models, ctx.model or "")
    ):
        raise Forbidden(
            f"Palisade: the LLM proxy `{proxy.id}` may not use the model `{model[:128]}`.",
            param="model",
            code="model_not_allowed",
        )
