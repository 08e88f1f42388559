"""AWS Bedrock's runtime API: `/v1/bedrock/model/{modelId}/converse` and `.../converse-stream`
(and under `/v1/bedrock/{proxy-id}/...`), what boto3's `bedrock-runtime` client calls with
`endpoint_url="http://gateway/v1/bedrock"`. The model id is one path segment that boto3
percent-encodes (`:` and the `/` of an ARN): `{model:path}` takes it decoded, slashes and all."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from palisade.pipeline.run import Generation
from palisade.providers.bedrock import SURFACES


def routes(prefix: str) -> list[BaseRoute]:
    return [
        Route(f"{prefix}/model/{{model:path}}/{s.endpoint}", Generation(s), methods=["POST"])
        for s in SURFACES
    ]
