"""Entra ID tokens by client credentials, against a fake token endpoint (a real HTTP server):
fetched before the first request, refreshed off the request path before they expire, never
echoing the secret."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from palisade.errors import UpstreamUnreachable
from palisade.providers.azure.entra import EntraApp, EntraTokens

SECRET = "entra-client-secret-" + "x9" * 6


class FakeIssuer:
    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self.lifetime = 3600
        self.fail = False

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.forms.append({k: str(v) for k, v in form.items()})
        if self.fail or form.get("client_secret") != SECRET:
            return web.json_response({"error": "invalid_client"}, status=401)
        n = len(self.forms)
        return web.json_response(
            {"token_type": "Bearer", "access_token": f"tok-{n}", "expires_in": self.lifetime}
        )


@pytest.fixture
async def issuer() -> AsyncIterator[tuple[FakeIssuer, str]]:
    fake = FakeIssuer()
    app = web.Application()
    app.router.add_post("/tenant/oauth2/v2.0/token", fake.token)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}/tenant/oauth2/v2.0/token"
    await runner.cleanup()


def _tokens(url: str, secret: str = SECRET) -> EntraTokens:
    return EntraTokens(EntraApp(url, "client-id", secret), "az")


async def test_a_token_is_fetched_at_start_with_the_client_credentials_grant(
    issuer: tuple[FakeIssuer, str],
) -> None:
    fake, url = issuer
    tokens = _tokens(url)
    await tokens.start()
    try:
        assert tokens.current() == "Bearer tok-1"
        [form] = fake.forms
        assert form == {
            "grant_type": "client_credentials",
            "client_id": "client-id",
            "client_secret": SECRET,
            "scope": "https://cognitiveservices.azure.com/.default",
        }
    finally:
        await tokens.close()


async def test_a_short_lived_token_is_refreshed_before_it_expires(
    issuer: tuple[FakeIssuer, str],
) -> None:
    fake, url = issuer
    fake.lifetime = 2  # refreshed at half its life
    tokens = _tokens(url)
    await tokens.start()
    try:
        assert tokens.current() == "Bearer tok-1"
        await asyncio.sleep(1.4)
        # Renewed in the background: a request finds a valid token without waiting.
        assert tokens.current() == "Bearer tok-2"
        assert len(fake.forms) == 2
    finally:
        await tokens.close()


async def test_a_refused_fetch_is_an_error_that_never_names_the_secret(
    issuer: tuple[FakeIssuer, str], caplog: Any
) -> None:
    _, url = issuer
    tokens = _tokens(url, secret="wrong-" + SECRET)
    await tokens.start()  # does not raise: the first request tries again
    try:
        assert tokens.current() is None
        with pytest.raises(UpstreamUnreachable) as info:
            await tokens.fetch()
        assert "401" in info.value.message
        assert SECRET not in info.value.message
        assert SECRET not in caplog.text
    finally:
        await tokens.close()


async def test_an_azure_connection_sends_its_entra_token(issuer: tuple[FakeIssuer, str]) -> None:
    from palisade.config.loader import parse_config
    from palisade.providers.catalog import connect
    from palisade.providers.openai import CHAT

    _, url = issuer
    raw = {
        "auto_providers": False,
        "providers": {
            "az": {
                "kind": "azure",
                "base_url": "https://r.openai.azure.com",
                "entra": {"token_url": url, "client_id": "client-id", "client_secret": SECRET},
            }
        },
    }
    [provider] = parse_config(raw, source="t.yaml", env={}).providers
    connection = connect(provider)
    await connection.start()
    try:
        headers: dict[str, str] = {}
        pending = connection.authorize(headers, connection.url(CHAT, "d", False), b"", None)
        assert pending is None  # fetched at start: no request waits
        assert headers == {"authorization": "Bearer tok-1"}
    finally:
        await connection.close()
