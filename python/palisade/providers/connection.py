"""How the gateway reaches one configured provider: the URL of a request and its credentials.

Most providers take a key in a header (`KeyConnection`); others sign every request (AWS SigV4)
or present a token that expires (Google, Azure Entra ID), refreshed off the request path. The
catalog names each kind's connection; the pipeline calls `url` and `authorize` and never looks
at the kind.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from yarl import URL

from palisade.providers.base import Surface
from palisade.providers.provider import ProviderConfig


class Connection(Protocol):
    provider: ProviderConfig
    # `rewrite_body` must see the bytes that leave (checked first: most kinds send them as the
    # pipeline made them).
    rewrites_body: bool

    def url(self, surface: Surface, model: str, stream: bool) -> URL:
        """Where a request to `surface` for `model` goes."""

    def path_url(self, path: str) -> URL:
        """A URL under the provider's API root (`models`, for the listings)."""

    def rewrite_body(self, surface: Surface, body: bytes) -> bytes:
        """The body as this provider takes it for `surface` (Anthropic-on-Vertex: its API
        version in the body, the model in the path)."""

    def authorize(
        self, headers: dict[str, str], url: URL, body: bytes, client_key: str | None
    ) -> Awaitable[None] | None:
        """Puts the credentials in `headers`: the client's own provider key (`client_key`, a
        proxy that passes it through) in place of the configured one where the kind takes a
        key. An awaitable only when it must wait (a token not fetched yet)."""

    async def start(self) -> None:
        """Fetches what the connection needs before the first request (off the request
        path) and starts refreshing it."""

    async def close(self) -> None: ...


_URL_CACHE_LIMIT = 4096


class SentAsMade:
    """For the connections that send the body as the pipeline made it (all but Vertex's)."""

    rewrites_body = False

    def rewrite_body(self, surface: Surface, body: bytes) -> bytes:
        return body


class UnderRoot:
    """For the connections whose URLs are API paths under one root: each path's URL is parsed
    once (yarl parsing is a visible share of a proxied request's CPU); a request goes to its
    surface's `upstream_path`."""

    def __init__(self, root: str) -> None:
        self._root = root
        self._urls: dict[str, URL] = {}

    def url(self, surface: Surface, model: str, stream: bool) -> URL:
        return self.path_url(surface.upstream_path(model, stream))

    def path_url(self, path: str) -> URL:
        """The URL of an API path (already percent-encoded). `encoded=True` also keeps yarl
        from resolving `..` segments."""
        url = self._urls.get(path)
        if url is None:
            url = URL(f"{self._root}/{path}", encoded=True)
            if len(self._urls) < _URL_CACHE_LIMIT:
                self._urls[path] = url
        return url


class KeyConnection(UnderRoot, SentAsMade):
    """A key in a header (`auth_header`; `authorization` sends `Bearer <key>`), URLs under the
    base URL."""

    def __init__(self, provider: ProviderConfig) -> None:
        super().__init__(provider.base_url)
        self.provider = provider
        self._bearer = provider.auth_header == "authorization"

    def authorize(
        self, headers: dict[str, str], url: URL, body: bytes, client_key: str | None
    ) -> Awaitable[None] | None:
        key = client_key or self.provider.api_key
        if key:
            if self._bearer:
                headers["authorization"] = f"Bearer {key}"
            else:
                headers[self.provider.auth_header] = key
        return None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
