"""Cohere's v2 API: `/v1/cohere/v2/chat` and `/v1/cohere/v2/embed` (and
`/v1/cohere/{proxy-id}/v2/...`), for the cohere SDK with `base_url=".../v1/cohere"`. Generation
runs the pipeline; a model served by a provider of another dialect cannot be translated from
Cohere's API and is refused in Cohere's format."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from palisade.pipeline.run import Generation
from palisade.providers.cohere import SURFACES


def routes(prefix: str) -> list[BaseRoute]:
    """`prefix` ends before `/v2`."""
    return [
        Route(f"{prefix}/{surface.endpoint}", Generation(surface), methods=["POST"])
        for surface in SURFACES
    ]
