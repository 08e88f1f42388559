"""How the gateway reaches Bedrock: `https://bedrock-runtime.{region}.amazonaws.com` (or the
config's `base_url`), every request signed with SigV4 for the service `bedrock`.

Credentials come from the config (`aws_access_key_id`, `aws_secret_access_key`,
`aws_session_token`), else from botocore's standard chain (environment, `profile`, web
identity, container and instance roles), resolved in `start` in a thread (the chain may ask the
instance metadata service) and, when they expire (an assumed role, an instance role), refreshed
by a background task in a thread well before they do: botocore's refreshable credentials
refresh themselves on the first read inside their advisory window (15 minutes before expiry),
and the task reads them every minute. The request path only reads the current signer.

Signing is the Rust extension's (`SigV4Signer`): botocore's `SigV4Auth` measured 57 us a request
here (`benches/core_bedrock.py`), over the 20 us budget; this, 1.5 us, 2.4 with this module's
part. Host, content type, date, session token and any other `x-amz*` header are signed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from yarl import URL

from palisade._core import SigV4Signer
from palisade.errors import UpstreamUnreachable
from palisade.providers.connection import SentAsMade, UnderRoot
from palisade.providers.provider import ProviderConfig
from palisade.providers.refresher import Refresher

log = logging.getLogger("palisade.upstream")

SERVICE = "bedrock"
DEFAULT_REGION = "us-east-1"
REFRESH_EVERY_S = 60.0
# The client's own signature headers never leave: the gateway signs with its credentials.
_CLIENT_SIGNING = ("x-amz-date", "x-amz-security-token", "x-amz-content-sha256")


def default_base_url(region: str) -> str:
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def _option(provider: ProviderConfig, name: str) -> str | None:
    value = provider.options.get(name)
    return value if isinstance(value, str) and value else None


class SigV4Connection(UnderRoot, SentAsMade):
    def __init__(self, provider: ProviderConfig) -> None:
        self.provider = provider
        self.region = _option(provider, "region") or DEFAULT_REGION
        base = provider.base_url or default_base_url(self.region)
        super().__init__(base.rstrip("/"))
        root = URL(self._root)
        self._host = root.raw_host or ""
        if root.explicit_port is not None and not root.is_default_port():
            self._host = f"{self._host}:{root.port}"
        self._credentials: Any = None  # botocore Credentials
        # The signer and its session token, swapped as one (the refresh runs in a thread).
        self._signing: tuple[SigV4Signer, str | None] | None = None
        self._secret: str | None = None  # the signer's, to tell new credentials from old
        self._refresher = Refresher(self._renew, lambda: REFRESH_EVERY_S, self._failed)
        self._problem = "its credentials were not resolved yet"
        # `x-amz-date`, made again only when the second changes.
        self._second = -1
        self._date = ""

    def authorize(
        self, headers: dict[str, str], url: URL, body: bytes, client_key: str | None
    ) -> Awaitable[None] | None:
        # `client_key` (a proxy passing the client's provider key on) means nothing to SigV4:
        # the gateway's credentials sign.
        signing = self._signing
        if signing is None:
            raise UpstreamUnreachable(
                f"Palisade: provider `{self.provider.name}` cannot be called: {self._problem}."
            )
        signer, token = signing
        for name in _CLIENT_SIGNING:
            headers.pop(name, None)
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        date = self._date
        headers["host"] = self._host
        headers["x-amz-date"] = date
        signed = [
            ("content-type", headers.get("content-type", "application/json")),
            ("host", self._host),
            ("x-amz-date", date),
        ]
        if token:
            headers["x-amz-security-token"] = token
        # Every AWS header the request carries is signed, as botocore signs them (the client's
        # `x-amzn-bedrock-*` options among them): AWS refuses unsigned `x-amz-*` headers.
        for name, value in headers.items():
            if name.startswith("x-amz") and name != "x-amz-date":
                signed.append((name, value))
        # The method is part of the signature and `authorize` is not told it: generation
        # requests always carry a JSON body, the listings (`GET`) none.
        method = "POST" if body else "GET"
        headers["authorization"] = signer.authorization(
            method, url.raw_path, url.raw_query_string, signed, body, date
        )
        return None

    async def start(self) -> None:
        try:
            self._credentials = await asyncio.to_thread(self._resolve)
            await asyncio.to_thread(self._read)
        except Exception as exc:  # botocore raises many kinds; none may stop the gateway
            self._problem = f"no AWS credentials ({type(exc).__name__})"
            log.warning("provider %s: AWS credentials failed: %s", self.provider.name, exc)
            return
        if self._credentials is None:
            self._problem = "no AWS credentials were found (config, environment, profile, role)"
            log.warning("provider %s: %s", self.provider.name, self._problem)
            return
        if hasattr(self._credentials, "refresh_needed"):
            self._refresher.start(f"sigv4-{self.provider.name}")

    def _resolve(self) -> Any:
        from botocore.credentials import Credentials
        from botocore.session import Session

        options = self.provider.options
        key = _option(self.provider, "aws_access_key_id")
        secret = _option(self.provider, "aws_secret_access_key")
        if key and secret:
            return Credentials(key, secret, _option(self.provider, "aws_session_token"))
        profile = options.get("profile")
        session = Session(profile=profile if isinstance(profile, str) and profile else None)
        return session.get_credentials()

    def _read(self) -> None:
        """Reads the credentials (a refresh, when they are about to expire) and makes a new
        signer when they changed."""
        if self._credentials is None:
            return
        frozen = self._credentials.get_frozen_credentials()
        signing = self._signing
        if (
            signing is None
            or signing[0].access_key != frozen.access_key
            or self._secret != frozen.secret_key
            or signing[1] != frozen.token
        ):
            self._secret = frozen.secret_key
            signer = SigV4Signer(frozen.access_key, frozen.secret_key, self.region, SERVICE)
            self._signing = (signer, frozen.token)

    async def _renew(self) -> None:
        await asyncio.to_thread(self._read)

    def _failed(self, exc: Exception) -> None:
        # The current signer keeps serving until it expires.
        log.warning("provider %s: AWS credentials refresh failed: %s", self.provider.name, exc)

    async def close(self) -> None:
        await self._refresher.close()
