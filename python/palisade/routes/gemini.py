"""Google's Gemini API: `/v1/gemini/v1beta/models/{model}:generateContent`, `:streamGenerateContent`
and `:countTokens`, and the model listing (the same under `/v1/gemini/v1/...`, and under
`/v1/gemini/{proxy-id}/...`), so that the google-genai SDK works with
`http_options={"base_url": "<gateway>/v1/gemini"}` whichever `api_version` it uses.
Generation runs the pipeline; a model served by a provider of another dialect is translated.

A key in the query (`?key=`, as Google's API takes it) is moved into the `x-goog-api-key` header
before anything reads the request: the identity stage finds it where it finds the header, and
the query string, which records and logs may show, no longer holds it. Nothing of the client's
query leaves for the provider in any case (the connection builds the provider's URL).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from palisade.pipeline.run import Generation
from palisade.providers.gemini import GENERATE, SURFACES
from palisade.routes import models

_KEY_HEADER = b"x-goog-api-key"


def query_key(scope: Scope) -> Scope:
    """The scope with `?key=` moved into `x-goog-api-key` (a header the client sent wins) and
    out of the query string. Only Gemini's routes pay for it, and only when the query names a
    key."""
    query: bytes = scope.get("query_string", b"")
    if b"key=" not in query:
        return scope
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    keys = [value for name, value in pairs if name == "key"]
    if not keys:
        return scope
    scope = dict(scope)
    rest = [(name, value) for name, value in pairs if name != "key"]
    scope["query_string"] = urlencode(rest).encode("latin-1")
    headers = list(scope["headers"])
    if not any(name.lower() == _KEY_HEADER for name, _ in headers):
        headers.append((_KEY_HEADER, keys[0].encode("latin-1")))
    scope["headers"] = headers
    return scope


class KeyedGeneration(Generation):
    """A generation endpoint that takes the key from the query too."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(query_key(scope), receive, send)


class QueryKey:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(query_key(scope), receive, send)


# The API's versions: the SDKs of 2025 called `v1beta`, google-genai 3.x calls `v1` by default.
# Their bodies are the same; the provider's `base_url` decides which version leaves.
VERSIONS = ("v1beta", "v1")


def routes(prefix: str, *, pin: str | None = None, strict: bool = True) -> list[BaseRoute]:
    """`prefix` ends before the version (`/v1/gemini`, `/v1/gemini/{proxy}`); `pin` as
    `Generation`'s (`/v1/gemini/...` pins the provider named `gemini` when one is
    configured)."""
    out: list[BaseRoute] = []
    for version in VERSIONS:
        out.extend(
            Route(
                f"{prefix}/{version}/models/{{model}}:{surface.endpoint}",
                KeyedGeneration(surface, pin, strict=strict),
                methods=["POST"],
            )
            for surface in SURFACES
        )
        endpoint = (
            models.list_gemini_models
            if pin is None
            else models.listing(pin, strict=strict, surface=GENERATE)
        )
        listing = Route(f"{prefix}/{version}/models", endpoint, methods=["GET"])
        listing.app = QueryKey(listing.app)
        out.append(listing)
    return out
