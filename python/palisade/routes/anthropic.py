"""Anthropic's Messages API: `/v1/anthropic/v1/...` (and `/v1/anthropic/{proxy-id}/v1/...`),
and at the root (`/v1/messages`, `/{proxy-id}/v1/messages`) for clients that take a bare base
URL, such as Claude Code's `ANTHROPIC_BASE_URL`. Generation runs the pipeline; a model served by
an OpenAI-dialect provider is translated there and back.

`/api/hello` under each base URL answers like `/health`: Claude Code sends a `HEAD` there at
start-up to open its connection early (as it would to Anthropic's API), and reads only the status.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from palisade.pipeline.run import Generation
from palisade.providers.anthropic import MESSAGES, SURFACES
from palisade.routes import models, ops


def routes(
    prefix: str, *, listing: bool = True, pin: str | None = None, strict: bool = True
) -> list[BaseRoute]:
    """`prefix` ends before `/v1`; `listing` False where OpenAI's `/v1/models` lives (the
    shared route tells the dialects apart by the `anthropic-version` header); `pin` as
    `Generation`'s (`/v1/anthropic/...` pins the provider named `anthropic` when one is
    configured)."""
    out: list[BaseRoute] = [
        Route(
            f"{prefix}/v1/{surface.endpoint}",
            Generation(surface, pin, strict=strict),
            methods=["POST"],
        )
        for surface in SURFACES
    ]
    out.append(Route(f"{prefix}/api/hello", ops.health, methods=["GET"]))
    if listing:
        endpoint = (
            models.list_anthropic_models
            if pin is None
            else models.listing(pin, strict=strict, surface=MESSAGES)
        )
        out.append(Route(f"{prefix}/v1/models", endpoint, methods=["GET"]))
    return out
