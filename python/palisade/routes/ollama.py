"""Ollama's native chat API for its clients: `ollama.Client(host="http://gateway/v1/ollama")`
posts to `/v1/ollama/api/chat` (also `/v1/ollama/{proxy-id}/api/chat`), NDJSON streams and all.
The model is resolved like any other and the request reaches its provider through OpenAI chat
(`providers.ollama.translation`); the route pins the provider named `ollama` when one is
configured (an Ollama server, reached at its OpenAI-compatible `/v1`).

The prefix serves OpenAI's routes too (`/v1/ollama/chat/completions`, `models`, ...), pinned
the same way: the API an Ollama server offers its other clients. `ollama` is one of the
gateway's own prefixes, so `routes.providers` gives it none of a configured provider's."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from palisade.pipeline.run import Generation
from palisade.providers.ollama import SURFACES
from palisade.routes import openai


def routes(prefix: str) -> list[BaseRoute]:
    return [
        *(
            Route(
                f"{prefix}/{surface.endpoint}",
                Generation(surface, "ollama", strict=False),
                methods=["POST"],
            )
            for surface in SURFACES
        ),
        *openai.routes(prefix, "ollama", strict=False),
    ]
