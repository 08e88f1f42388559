"""Stage 2 in process, with a real store: which method a token picks, and what reaches the
context. (Every method end to end: tests/e2e/test_identity.py.)"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.requests import Request

from palisade.config import Config, JwtConfig, ProxyConfig, StoreConfig
from palisade.errors import GatewayError
from palisade.gateway import Gateway
from palisade.identity import runtime
from palisade.pipeline.context import RequestContext
from palisade.pipeline.identity import Forbidden, Grant, Unauthorized, authorize_target, identify
from palisade.providers.openai import CHAT
from palisade.store import keys
from palisade.upstream.routing import Router
from tests.helpers.servers import free_port

PROXIES = (
    ProxyConfig(id="open", name="open"),
    ProxyConfig(id="keys", name="keys", auth=("virtual_key",)),
    ProxyConfig(id="byok", name="byok", auth=("provider_key",)),
    ProxyConfig(id="both", name="both", auth=("virtual_key", "provider_key")),
    ProxyConfig(id="narrow", name="narrow", providers=("mock",), models=("gpt-4o*",)),
)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    config = Config(
        proxies=PROXIES,
        default_proxy=None,
        store=StoreConfig(sqlite_path=str(tmp_path / "t.db")),
    )
    async with aiohttp.ClientSession() as session:
        ident, guards = await runtime.start(config, session)
        yield Gateway(
            config=config, router=Router(()), session=session, proxies=guards, identity=ident
        )
        await ident.db.close()


def request(token: str | None, user: str | None = None) -> Request:
    headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    if user is not None:
        headers.append((b"x-archestra-user-id", user.encode()))
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/",
            "headers": headers,
            "client": ("1.2.3.4", 5),
        }
    )


async def identify_request(ctx: RequestContext, req: Request, gw: Gateway) -> Grant:
    """The stage as the pipeline calls it: the credential as the OpenAI dialect reads it."""
    address = req.client.host if req.client else "-"
    return await identify(ctx, req.headers, address, gw.identity)


def context(gw: Gateway, proxy: str) -> RequestContext:
    return RequestContext(surface=CHAT, guards=gw.proxies[proxy], proxy_id=proxy)


async def new_key(gw: Gateway, proxy: str, **kw: object) -> tuple[keys.VirtualKey, str]:
    assert gw.identity is not None
    return await gw.identity.db.run(
        lambda c: keys.create(c, proxy_id=proxy, name="t", **kw)  # type: ignore[arg-type]
    )


async def test_an_open_proxy_checks_nothing(gw: Gateway) -> None:
    ctx = context(gw, "open")
    assert await identify_request(ctx, request("pal-0123456789ab-wrong"), gw) == Grant()
    assert ctx.auth_method == "none"


async def test_a_key_fills_the_context_and_wins_over_user_id(gw: Gateway) -> None:
    key, token = await new_key(gw, "keys", user_id="ann", limits={"rpm": 3})
    ctx = context(gw, "keys")
    ctx.user_id = "from-header"
    assert await identify_request(ctx, request(token), gw) == Grant()
    assert (ctx.auth_method, ctx.key_id, ctx.key_limits, ctx.user_id) == (
        "virtual_key",
        key.id,
        {"rpm": 3},
        "ann",
    )


async def test_a_key_without_a_user_keeps_the_header_user(gw: Gateway) -> None:
    _, token = await new_key(gw, "keys", providers=("mock",))
    ctx = context(gw, "keys")
    ctx.user_id = "from-header"
    assert await identify_request(ctx, request(token), gw) == Grant(providers=("mock",))
    assert ctx.user_id == "from-header"
    assert ctx.key_limits is None


async def test_passthrough_forwards_any_other_token_but_never_ours(gw: Gateway) -> None:
    ctx = context(gw, "byok")
    jwt_shaped = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
    assert await identify_request(ctx, request(jwt_shaped), gw) == Grant(provider_key=jwt_shaped)
    assert ctx.auth_method == "provider_key"
    _, token = await new_key(gw, "byok")
    with pytest.raises(Unauthorized) as info:
        await identify_request(context(gw, "byok"), request(token), gw)
    assert info.value.code == "auth_method_not_accepted"
    with pytest.raises(Unauthorized) as info:
        await identify_request(context(gw, "byok"), request("pal-broken"), gw)
    assert info.value.code == "invalid_api_key"


async def test_with_keys_and_passthrough_a_key_is_a_key(gw: Gateway) -> None:
    key, token = await new_key(gw, "both")
    ctx = context(gw, "both")
    assert await identify_request(ctx, request(token), gw) == Grant()
    assert ctx.key_id == key.id
    ctx = context(gw, "both")
    assert await identify_request(ctx, request("sk-own"), gw) == Grant(provider_key="sk-own")


async def test_missing_and_unknown_credentials(gw: Gateway) -> None:
    with pytest.raises(Unauthorized) as info:
        await identify_request(context(gw, "keys"), request(None), gw)
    assert info.value.code == "missing_credentials"
    assert "it accepts virtual keys" in info.value.message
    with pytest.raises(Unauthorized) as info:
        await identify_request(context(gw, "keys"), request("sk-some-openai-key"), gw)
    assert info.value.code == "invalid_api_key"
    assert "sk-some" not in info.value.message


async def test_without_a_store_only_open_proxies_are_served(gw: Gateway) -> None:
    bare = Gateway(config=gw.config, router=gw.router, session=gw.session, proxies=gw.proxies)
    assert await identify_request(context(bare, "open"), request(None), bare) == Grant()
    with pytest.raises(GatewayError) as info:
        await identify_request(context(bare, "keys"), request("x"), bare)
    assert info.value.status == 503


async def test_authorize_target(gw: Gateway) -> None:
    ctx = context(gw, "narrow")
    ctx.model = "mock:gpt-4o-mini"
    authorize_target(ctx, Grant(), "mock", "gpt-4o-mini")
    with pytest.raises(Forbidden) as info:
        authorize_target(ctx, Grant(), "other", "gpt-4o-mini")
    assert info.value.code == "provider_not_allowed"
    with pytest.raises(Forbidden) as info:
        authorize_target(ctx, Grant(), "mock", "gpt-5")
    assert info.value.code == "model_not_allowed"
    with pytest.raises(Forbidden) as info:
        authorize_target(context(gw, "open"), Grant(providers=("a",)), "b", "m")
    assert "this API key may not use the provider `b`" in info.value.message


@pytest.fixture
async def sso(tmp_path: Path) -> AsyncIterator[tuple[Gateway, rsa.RSAPrivateKey, list[int]]]:
    """A gateway whose `sso` proxy takes JWTs, and a real JWKS server (hits counted)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    hits = [0]

    async def serve(request: web.Request) -> web.Response:
        hits[0] += 1
        return web.json_response({"keys": [{**public, "kid": "k1", "alg": "RS256"}]})

    port = free_port()
    app = web.Application()
    app.router.add_get("/jwks", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    jwt_config = JwtConfig(issuer="i", audience="a", jwks_url=f"http://127.0.0.1:{port}/jwks")
    config = Config(
        proxies=(ProxyConfig(id="sso", name="sso", auth=("jwt",), jwt=jwt_config),),
        default_proxy=None,
        store=StoreConfig(sqlite_path=str(tmp_path / "t.db")),
    )
    async with aiohttp.ClientSession() as session:
        ident, guards = await runtime.start(config, session)
        yield (
            Gateway(
                config=config, router=Router(()), session=session, proxies=guards, identity=ident
            ),
            key,
            hits,
        )
        await ident.db.close()
    await runner.cleanup()


def signed(key: rsa.RSAPrivateKey, **claims: object) -> str:
    payload = {"iss": "i", "aud": "a", "sub": "bob", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


async def test_a_verified_jwt_is_remembered_until_it_expires(
    sso: tuple[Gateway, rsa.RSAPrivateKey, list[int]],
) -> None:
    gw, key, hits = sso
    token = signed(key, email="bob@example.com")
    for _ in range(3):
        ctx = context(gw, "sso")
        assert await identify_request(ctx, request(token), gw) == Grant()
        assert (ctx.auth_method, ctx.user_id) == ("jwt", "bob@example.com")
    assert hits == [1]
    assert gw.identity is not None
    assert len(gw.identity.verified_jwts) == 1
    # Once its remembered `exp` has passed, the token is verified again (which here renews it).
    (entry,) = gw.identity.verified_jwts
    real_exp = gw.identity.verified_jwts[entry][0]
    gw.identity.verified_jwts[entry] = (time.time() - 1, "stale")
    ctx = context(gw, "sso")
    await identify_request(ctx, request(token), gw)
    assert ctx.user_id == "bob@example.com"
    assert gw.identity.verified_jwts[entry] == (real_exp, "bob@example.com")
    with pytest.raises(Unauthorized) as info:
        await identify_request(
            context(gw, "sso"), request(signed(key, exp=int(time.time()) - 60)), gw
        )
    assert info.value.code == "expired_token"
    forged = token[: token.rindex(".") + 1] + "AAAA"
    with pytest.raises(Unauthorized) as info:
        await identify_request(context(gw, "sso"), request(forged), gw)
    assert info.value.code == "invalid_signature"
