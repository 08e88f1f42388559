"""The OpenAI API: `/v1/...`, the model router's `/v1/model-router/...`, and the same routes
under a prefix that pins a provider (`routes.providers`): `/v1/groq/...` reaches the configured
provider `groq` and no other, `/v1/openai/...` the provider named `openai` when one is
configured (else it is `/v1/...`'s twin). The generation endpoints run the pipeline
(`pipeline.run`), the model listings are `routes.models`'."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from palisade.errors import NotFound
from palisade.pipeline.run import Generation
from palisade.providers.openai import SURFACES
from palisade.routes import models


async def _model_action(request: Request) -> Response:
    """`POST .../models/{model}:generateContent` is Gemini's API, not an OpenAI route: a 404 that
    says so, rather than the 405 of the model retrieval route whose path it shares."""
    raise NotFound(
        f"Palisade: no route for POST {request.url.path}; the OpenAI API has no POST on a "
        "model (`models/{model}:generateContent` is Google's Gemini API, which this route "
        "does not speak)."
    )


def routes(
    prefix: str, pin: str | None = None, *, strict: bool = True, router: bool = False
) -> list[BaseRoute]:
    """`pin`: the provider the routes reach (`Generation`'s); `router`: the model router's,
    whose listing names every provider's models as `provider:model`."""
    listing: models.Endpoint
    retrieve: models.Endpoint
    if pin is None and not router:
        listing, retrieve = models.list_models, models.retrieve_model
    else:
        listing = models.listing(pin, strict=strict, router=router)
        retrieve = models.retrieval(pin, strict=strict)
    return [
        *(
            Route(
                f"{prefix}/{surface.endpoint}",
                Generation(surface, pin, strict=strict),
                methods=["POST"],
            )
            for surface in SURFACES
        ),
        Route(f"{prefix}/models", listing, methods=["GET"]),
        Route(f"{prefix}/models/{{model:path}}", retrieve, methods=["GET"]),
        Route(f"{prefix}/models/{{model:path}}", _model_action, methods=["POST"]),
    ]
