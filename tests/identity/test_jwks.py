"""The JWKS cache against a real HTTP server (aiohttp, in the test's loop)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from palisade.identity.jwks import JwksCache, JwksUnavailable, parse_jwks
from tests.helpers.servers import free_port


def jwk(kid: str, **extra: Any) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**public, "kid": kid, "alg": "RS256", **extra}


K1, K2 = jwk("k1"), jwk("k2")


@dataclass
class Idp:
    url: str
    keys: list[dict[str, Any]] = field(default_factory=lambda: [K1])
    status: int = 200
    hits: int = 0


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def idp() -> AsyncIterator[Idp]:
    port = free_port()
    state = Idp(url=f"http://127.0.0.1:{port}/jwks")

    async def serve(request: web.Request) -> web.Response:
        state.hits += 1
        await asyncio.sleep(0.01)  # concurrent lookups overlap with the fetch
        return web.Response(
            body=orjson.dumps({"keys": state.keys}),
            status=state.status,
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_get("/jwks", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield state
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_keys_are_cached_and_concurrent_lookups_share_one_fetch(
    idp: Idp, session: aiohttp.ClientSession
) -> None:
    cache = JwksCache(session, cache_s=3600, refresh_min_s=10, clock=Clock())
    found = await asyncio.gather(*(cache.key(idp.url, "k1") for _ in range(10)))
    assert all(k is not None and k.algorithm_name == "RS256" for k in found)
    assert await cache.key(idp.url, "k1") is found[0]
    assert idp.hits == 1


async def test_an_unknown_kid_refetches_at_most_once_per_refresh_interval(
    idp: Idp, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    cache = JwksCache(session, cache_s=3600, refresh_min_s=10, clock=clock)
    assert await cache.key(idp.url, "k1") is not None
    idp.keys = [K1, K2]
    clock.now += 1
    assert await cache.key(idp.url, "k2") is None  # too soon after the last fetch
    assert idp.hits == 1
    clock.now += 10
    assert await cache.key(idp.url, "k2") is not None
    assert idp.hits == 2
    for _ in range(5):
        assert await cache.key(idp.url, "made-up") is None
    assert idp.hits == 2


async def test_stale_keys_are_refetched_and_kept_when_the_provider_fails(
    idp: Idp, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    cache = JwksCache(session, cache_s=60, refresh_min_s=5, clock=clock)
    assert await cache.key(idp.url, "k1") is not None
    idp.status = 500
    clock.now += 61
    assert await cache.key(idp.url, "k1") is not None  # served from the old set
    assert idp.hits == 2
    assert await cache.key(idp.url, "k1") is not None
    assert idp.hits == 2  # the failed attempt counts for the rate limit


async def test_no_keys_at_all_is_503(idp: Idp, session: aiohttp.ClientSession) -> None:
    clock = Clock()
    idp.status = 503
    cache = JwksCache(session, cache_s=60, refresh_min_s=5, clock=clock)
    with pytest.raises(JwksUnavailable) as info:
        await cache.key(idp.url, "k1")
    assert info.value.status == 503
    with pytest.raises(JwksUnavailable):
        await cache.key(idp.url, "k1")
    assert idp.hits == 1  # not retried within refresh_min_s
    idp.status = 200
    clock.now += 5
    assert await cache.key(idp.url, "k1") is not None


def test_parse_jwks_keeps_signing_keys_with_a_kid() -> None:
    body = orjson.dumps(
        {"keys": [K1, {**K2, "use": "enc"}, {"kty": "RSA"}, {"kid": "x", "kty": "nope"}, 3]}
    )
    assert list(parse_jwks(body)) == ["k1"]
    with pytest.raises(ValueError, match="keys"):
        parse_jwks(b'{"nokeys": 1}')
    with pytest.raises(ValueError, match="JSON"):
        parse_jwks(b"<html>")
