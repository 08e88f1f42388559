"""`GET /v1/models` and `GET /v1/models/{id}`: a fixed list.

Generation endpoints answer for ANY model name; the list only tells clients what is typical.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from palisade.mock.errors import error_response

_CREATED = 1_700_000_000
MODEL_IDS = (
    "mock-gpt",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-5",
    "o3-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
)
_MODELS: dict[str, dict[str, Any]] = {
    model_id: {
        "id": model_id,
        "object": "model",
        "created": _CREATED,
        "owned_by": "palisade-mock" if model_id.startswith("mock") else "system",
    }
    for model_id in MODEL_IDS
}
_LIST = orjson.dumps({"object": "list", "data": list(_MODELS.values())})


def list_models() -> Response:
    return Response(_LIST, media_type="application/json")


def retrieve_model(model_id: str) -> Response:
    model = _MODELS.get(model_id)
    if model is None:
        return error_response(
            404,
            f"The model '{model_id}' does not exist or you do not have access to it.",
            type="invalid_request_error",
            param="model",
            code="model_not_found",
        )
    return Response(orjson.dumps(model), media_type="application/json")
