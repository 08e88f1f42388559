"""The OpenAI API: `/v1/...` and the same routes under `/v1/openai/...`; the generation
endpoints run the pipeline (`pipeline.run`), the model listings are `routes.models`'."""

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


def routes(prefix: str) -> list[BaseRoute]:
    return [
        *(
            Route(f"{prefix}/{surface.endpoint}", Generation(surface), methods=["POST"])
            for surface in SURFACES
        ),
        Route(f"{prefix}/models", models.list_models, methods=["GET"]),
        Route(f"{prefix}/models/{{model:path}}", models.retrieve_model, methods=["GET"]),
        Route(f"{prefix}/models/{{model:path}}", _model_action, methods=["POST"]),
    ]
