"""The Azure OpenAI API as its clients call it: `openai.AzureOpenAI(azure_endpoint=
"http://gateway/v1/azure", api_key=..., api_version=...)` works unchanged.

`/v1/azure/openai/deployments/{deployment}/chat/completions` (also `completions`, `embeddings`):
the deployment is the model, resolved like any other (a `provider:model` name works too); the
client's `api-key` header is its credential. `/v1/azure/openai/v1/...` serves Azure's v1 API
(OpenAI's routes, the model in the body). Both pin the provider named `azure` when one is
configured. The client's `api-version` is accepted and not forwarded: the provider's own
config decides the version that leaves.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from palisade.pipeline.run import Generation
from palisade.providers.azure import SURFACES
from palisade.routes import openai


def routes(prefix: str, pin: str = "azure", *, strict: bool = False) -> list[BaseRoute]:
    """`pin` as `Generation`'s: `/v1/azure/...` pins the provider named `azure` when one is
    configured; a `kind: azure` provider's own prefix pins it (`routes.providers`)."""
    return [
        *(
            Route(
                f"{prefix}/openai/deployments/{{deployment}}/{surface.endpoint}",
                Generation(surface, pin, strict=strict),
                methods=["POST"],
            )
            for surface in SURFACES
        ),
        *openai.routes(f"{prefix}/openai/v1", pin, strict=strict),
    ]
