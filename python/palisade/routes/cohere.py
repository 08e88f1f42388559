"""Cohere's v2 API: `/v1/cohere/v2/chat` and `/v1/cohere/v2/embed` (and
`/v1/cohere/{proxy-id}/v2/...`), for the cohere SDK with `base_url=".../v1/cohere"`. Generation
runs the pipeline; a model served by a provider of another dialect cannot be translated from
Cohere's API and is refused in Cohere's format."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from palisade.pipeline.run import Generation
from palisade.providers.cohere import SURFACES


def routes(prefix: str, *, pin: str | None = None, strict: bool = True) -> list[BaseRoute]:
    """`prefix` ends before `/v2`; `pin` as `Generation`'s (`/v1/cohere/...` pins the
    provider named `cohere` when one is configured)."""
    return [
        Route(
            f"{prefix}/{surface.endpoint}",
            Generation(surface, pin, strict=strict),
            methods=["POST"],
        )
        for surface in SURFACES
    ]
