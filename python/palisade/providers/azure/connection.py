"""How the gateway reaches an Azure OpenAI resource (`kind: azure`).

With `api_version`, deployment URLs: `{base}/openai/deployments/{deployment}/{endpoint}
?api-version=...` for chat, completions and embeddings, `{base}/openai/{endpoint}?api-version=`
for the others (Responses names the deployment in its body). Without it, the v1 API:
`{base}/openai/v1/{endpoint}`, the deployment named in the body. The model is already the
deployment's name here: the router applies the provider's `deployments` mapping (`aliases`).

Credentials: the configured `api-key` (or the client's own, on a passthrough proxy), or an Entra
ID token as `Authorization: Bearer`: a fixed one (`azure_ad_token`), or one the connection gets
by client credentials (`entra`) and renews in the background (`entra.EntraTokens`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from urllib.parse import quote

from yarl import URL

from palisade.providers.azure.entra import EntraApp, EntraTokens
from palisade.providers.base import Surface
from palisade.providers.connection import SentAsMade
from palisade.providers.provider import ProviderConfig

# The endpoints Azure serves under a deployment's path.
_DEPLOYMENT_ENDPOINTS = frozenset(
    {"chat/completions", "completions", "embeddings", "audio/transcriptions", "images/generations"}
)
_URL_CACHE_LIMIT = 4096


class AzureConnection(SentAsMade):
    def __init__(self, provider: ProviderConfig) -> None:
        self.provider = provider
        version = provider.options.get("api_version")
        self._version = str(version) if version else None
        token = provider.options.get("azure_ad_token")
        self._bearer = f"Bearer {token}" if token else None
        app = provider.options.get("entra")
        self._entra = EntraTokens(app, provider.name) if isinstance(app, EntraApp) else None
        self._urls: dict[tuple[str, str], URL] = {}

    def url(self, surface: Surface, model: str, stream: bool) -> URL:
        path = surface.upstream_path(model, stream)
        key = (path, model)
        url = self._urls.get(key)
        if url is None:
            url = self._url(path, model)
            if len(self._urls) < _URL_CACHE_LIMIT:
                self._urls[key] = url
        return url

    def _url(self, path: str, model: str) -> URL:
        base = self.provider.base_url
        if self._version is None:
            return URL(f"{base}/openai/v1/{path}", encoded=True)
        version = quote(self._version, safe="")
        if path in _DEPLOYMENT_ENDPOINTS:
            deployment = quote(model, safe="")
            return URL(
                f"{base}/openai/deployments/{deployment}/{path}?api-version={version}",
                encoded=True,
            )
        return URL(f"{base}/openai/{path}?api-version={version}", encoded=True)

    def path_url(self, path: str) -> URL:
        return self._url(path, "")

    def authorize(
        self, headers: dict[str, str], url: URL, body: bytes, client_key: str | None
    ) -> Awaitable[None] | None:
        if client_key:
            headers["api-key"] = client_key
        elif self._entra is not None:
            current = self._entra.current()
            if current is None:  # the start-up fetch failed or the token ran out: fetch now
                return self._fetch_token(headers)
            headers["authorization"] = current
        elif self._bearer is not None:
            headers["authorization"] = self._bearer
        elif self.provider.api_key:
            name = self.provider.auth_header
            key = self.provider.api_key
            headers[name] = f"Bearer {key}" if name == "authorization" else key
        return None

    async def _fetch_token(self, headers: dict[str, str]) -> None:
        assert self._entra is not None
        headers["authorization"] = await self._entra.fetch()

    async def start(self) -> None:
        if self._entra is not None:
            await self._entra.start()

    async def close(self) -> None:
        if self._entra is not None:
            await self._entra.close()
