"""Microsoft Entra ID tokens for Azure OpenAI by the OAuth 2.0 client-credentials grant
(RFC 6749 section 4.4): a form POST to the tenant's token endpoint, the token kept and refreshed
in the background before it expires, so that a request never waits for one (except the first,
if the start-up fetch failed).

Written here rather than with azure-identity: the grant is one form POST, and the library would
bring azure-core and msal (with their own HTTP stack) into the gateway for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import aiohttp
import orjson

from palisade.errors import UpstreamUnreachable
from palisade.providers.refresher import Refresher

log = logging.getLogger("palisade.upstream")

DEFAULT_SCOPE = "https://cognitiveservices.azure.com/.default"
# Refresh this long before expiry (Entra's tokens live an hour or more), or at half the
# lifetime of a shorter-lived one.
_MARGIN_S = 300.0
# After a failed refresh, try again this soon (the old token may still be valid).
_RETRY_S = 5.0


@dataclass(frozen=True, slots=True)
class EntraApp:
    token_url: str
    client_id: str
    client_secret: str
    scope: str = DEFAULT_SCOPE

    @staticmethod
    def for_tenant(tenant_id: str) -> str:
        return f"https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token"


class EntraTokens:
    """The current token (`header`: `Bearer ...`) and the task that renews it."""

    def __init__(self, app: EntraApp, provider: str) -> None:
        self.app = app
        self.provider = provider
        self.header: str | None = None
        self._issued_at = 0.0
        self._expires_at = 0.0
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._refresher = Refresher(self._renew, self._wait_s, self._failed, _RETRY_S)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        with contextlib.suppress(UpstreamUnreachable):  # logged; the first request retries
            await self.fetch()
        self._refresher.start(f"entra-{self.provider}")

    async def close(self) -> None:
        await self._refresher.close()
        if self._session is not None:
            await self._session.close()

    def current(self) -> str | None:
        """The token's header while it is valid, else None (then `fetch`)."""
        if self.header is not None and time.monotonic() < self._expires_at:
            return self.header
        return None

    async def fetch(self) -> str:
        async with self._lock:
            current = self.current()  # another request may have fetched it meanwhile
            if current is not None:
                return current
            return await self._fetch()

    async def _fetch(self) -> str:
        assert self._session is not None, "EntraTokens.start() was not awaited"
        form = {
            "grant_type": "client_credentials",
            "client_id": self.app.client_id,
            "client_secret": self.app.client_secret,
            "scope": self.app.scope,
        }
        failure = f"Palisade: no Entra ID token for provider `{self.provider}`"
        try:
            async with self._session.post(self.app.token_url, data=form) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("%s: %s", failure, type(exc).__name__)
            raise UpstreamUnreachable(f"{failure} (the token endpoint is unreachable).") from None
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if status != 200 or not isinstance(token, str) or not token:
            # The endpoint's error code only (never the form, which holds the secret).
            code = payload.get("error") if isinstance(payload, dict) else None
            log.warning("%s: status %s, error %s", failure, status, code)
            raise UpstreamUnreachable(f"{failure} (the token endpoint answered {status}).")
        lifetime = payload.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float | str) else 3600.0
        now = time.monotonic()
        self._issued_at = now
        self._expires_at = now + seconds
        self.header = f"Bearer {token}"
        return self.header

    def _wait_s(self) -> float:
        if self.header is None:
            return _RETRY_S
        lifetime = self._expires_at - self._issued_at
        renew_at = self._expires_at - min(_MARGIN_S, lifetime / 2)
        return max(renew_at - time.monotonic(), 0.05)

    async def _renew(self) -> None:
        async with self._lock:
            await self._fetch()

    def _failed(self, exc: Exception) -> None:
        if not isinstance(exc, UpstreamUnreachable):  # those are logged where they are raised
            log.warning("%s: token renewal failed: %s", self.provider, type(exc).__name__)
