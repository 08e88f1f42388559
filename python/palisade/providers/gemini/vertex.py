"""Vertex AI: Google's models (the Gemini dialect) and Anthropic's (the Messages API) at a
project's regional endpoint, with an OAuth access token from google-auth.

URLs: `{base_url}/projects/{project}/locations/{location}/publishers/google/models/{model}:
generateContent` (`:streamGenerateContent?alt=sse`, `:countTokens`) for the Gemini surfaces, and
`.../publishers/anthropic/models/{model}:rawPredict` (`:streamRawPredict` for a stream;
`count-tokens:rawPredict` for token counts) for Anthropic's, whose body carries
`anthropic_version: vertex-2023-10-16` and, but for token counts, no model (`rewrite_body`).
Which dialect a model is spoken in is the kind's business
(`catalog.KINDS["vertex"].model_dialects`): the pipeline translates to it like to any other
provider's, and this connection maps the surface it gets.

Credentials: a service-account JSON (`credentials_file`), else google-auth's default chain
(GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server). The token is fetched
by `start()` and refreshed by a task ahead of its expiry (google-auth's refresh blocks: it runs
in a thread), never on the request path; a request that comes before the first token waits for
it (briefly), and a failed refresh is retried while the old token is still good.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Awaitable
from typing import Any

import google.auth
import google.auth.credentials
import google.auth.transport.requests
import orjson
from google.oauth2 import service_account
from yarl import URL

from palisade.errors import UpstreamUnreachable
from palisade.providers.base import Surface
from palisade.providers.connection import UnderRoot
from palisade.providers.gemini.surfaces import model_path
from palisade.providers.provider import ProviderConfig
from palisade.providers.refresher import Refresher

log = logging.getLogger("palisade.upstream")

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
ANTHROPIC_VERSION = "vertex-2023-10-16"
# Refresh this long before expiry (at most half the token's life); Google's tokens live an hour.
REFRESH_AHEAD_S = 300.0
RETRY_S = 10.0
# How long a request waits for the first token before it is refused.
FIRST_TOKEN_WAIT_S = 10.0

_ANTHROPIC_ACTIONS = {
    ("messages", False): "rawPredict",
    ("messages", True): "streamRawPredict",
}


def load_credentials(credentials_file: str | None) -> google.auth.credentials.Credentials:
    if credentials_file:
        credentials: google.auth.credentials.Credentials = (
            service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                credentials_file, scopes=list(SCOPES)
            )
        )
        return credentials
    found, _ = google.auth.default(scopes=list(SCOPES))
    return found


class VertexConnection(UnderRoot):
    rewrites_body = True

    def __init__(self, provider: ProviderConfig) -> None:
        self.provider = provider
        options = provider.options
        self.project = str(options.get("project") or "")
        self.location = str(options.get("location") or "us-central1")
        file = options.get("credentials_file")
        self.credentials_file = str(file) if file else None
        super().__init__(f"{provider.base_url}/projects/{self.project}/locations/{self.location}")
        self._credentials: google.auth.credentials.Credentials | None = None
        self.token: str | None = None
        self.expiry: datetime.datetime | None = None  # naive UTC, as google-auth keeps it
        self._ready = asyncio.Event()
        self._refresher = Refresher(self.refresh, self.next_refresh_s, self._failed, RETRY_S)

    # --- URLs and bodies ---------------------------------------------------------------------

    def url(self, surface: Surface, model: str, stream: bool) -> URL:
        if surface.dialect.name == "anthropic":
            action = _ANTHROPIC_ACTIONS.get((surface.endpoint, stream))
            name = model if action is not None else "count-tokens"
            path = model_path(name, action or "rawPredict")
            return self.path_url(f"publishers/anthropic/{path}")
        return self.path_url(f"publishers/google/{surface.upstream_path(model, stream)}")

    def rewrite_body(self, surface: Surface, body: bytes) -> bytes:
        """Anthropic-on-Vertex names the model in the path and its API version in the body."""
        if surface.dialect.name != "anthropic":
            return body
        try:
            obj: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
        if not isinstance(obj, dict):
            return body
        if surface.endpoint == "messages":
            # Token counting's path names no model (`count-tokens:rawPredict`): its body does.
            obj.pop("model", None)
        obj["anthropic_version"] = ANTHROPIC_VERSION
        return orjson.dumps(obj)

    # --- credentials -------------------------------------------------------------------------

    def authorize(
        self, headers: dict[str, str], url: URL, body: bytes, client_key: str | None
    ) -> Awaitable[None] | None:
        # A proxy that passes the client's own credential through: its Google token.
        token = client_key or self.token
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
            return None
        return self._wait(headers)

    async def _wait(self, headers: dict[str, str]) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), FIRST_TOKEN_WAIT_S)
        if self.token is None:
            raise UpstreamUnreachable(
                f"Palisade: provider `{self.provider.name}` has no Google access token yet "
                "(the credentials could not be loaded or refreshed; see the gateway's log)."
            )
        headers["authorization"] = f"Bearer {self.token}"

    async def start(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # logged, retried by the task; requests wait or fail clearly
            log.warning("vertex provider %s: first token failed: %s", self.provider.name, exc)
        self._refresher.start(f"vertex-{self.provider.name}")

    async def refresh(self) -> None:
        """Fetches a token (google-auth's blocking call, in a thread)."""
        if self._credentials is None:
            self._credentials = await asyncio.to_thread(load_credentials, self.credentials_file)
        credentials = self._credentials
        await asyncio.to_thread(credentials.refresh, google.auth.transport.requests.Request())
        self.token = credentials.token
        self.expiry = credentials.expiry
        if self.token:
            self._ready.set()

    def next_refresh_s(self) -> float:
        """Seconds until the token is to be refreshed: ahead of its expiry by REFRESH_AHEAD_S,
        or by half its remaining life when that is shorter."""
        if self.token is None or self.expiry is None:
            return RETRY_S if self.token is None else 3000.0
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        left = (self.expiry - now).total_seconds()
        return max(left - min(REFRESH_AHEAD_S, left / 2), 0.0)

    def _failed(self, exc: Exception) -> None:
        log.warning("vertex provider %s: token refresh failed: %s", self.provider.name, exc)

    async def close(self) -> None:
        await self._refresher.close()
