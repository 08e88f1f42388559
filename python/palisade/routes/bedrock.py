"""AWS Bedrock's runtime API, what boto3's `bedrock-runtime` client calls with
`endpoint_url="http://gateway/v1/bedrock"`: `/v1/bedrock/model/{modelId}/converse` and
`.../converse-stream`, `.../invoke` and `.../invoke-with-response-stream` for Anthropic models
(and all under `/v1/bedrock/{proxy-id}/...`). The model id is one path segment that boto3
percent-encodes (`:` and the `/` of an ARN): `{model:path}` takes it decoded, slashes and all."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from palisade.pipeline.run import Generation
from palisade.providers.bedrock import SURFACES
from palisade.providers.bedrock.invoke import INVOKE_SURFACES

_CONTENT_TYPE = b"content-type"
_JSON = (_CONTENT_TYPE, b"application/json")


class InvokeGeneration(Generation):
    """`invoke` takes a body without a Content-Type as JSON (boto3's `contentType` defaults to
    application/json and, left out, sends none, as AWS's own examples do); every other type
    still meets the firewall."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        if not any(name.lower() == _CONTENT_TYPE for name, _ in headers):
            scope = {**scope, "headers": [*headers, _JSON]}
        await super().__call__(scope, receive, send)


def routes(prefix: str, *, pin: str | None = None, strict: bool = True) -> list[BaseRoute]:
    """`prefix` ends before `/model`; `pin` as `Generation`'s (a provider's own prefix,
    `/v1/{name}/...`)."""
    path = f"{prefix}/model/{{model:path}}"
    return [
        *(
            Route(f"{path}/{s.endpoint}", Generation(s, pin, strict=strict), methods=["POST"])
            for s in SURFACES
        ),
        *(
            Route(f"{path}/{s.endpoint}", InvokeGeneration(s, pin, strict=strict), methods=["POST"])
            for s in INVOKE_SURFACES
        ),
    ]
