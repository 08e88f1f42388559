"""`GET /v1/models` and `GET /v1/models/{id}` in Anthropic's format: a fixed list.

A list is a page (`data`, `has_more`, `first_id`, `last_id`) cut by `limit` (default 20) and
the cursors `after_id` / `before_id`, which the SDK's paginator follows. Messages answer ANY
model name; the list only tells clients what is typical.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from palisade.mock.anthropic_errors import error_response, invalid_request

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000

# Names the anthropic SDK knows (its `ModelParam`). One creation date for all, as on the OpenAI
# side: what matters is that it is fixed.
_CREATED_AT = "2025-11-14T22:13:20Z"
_CATALOG = (
    ("mock-claude", "Mock Claude"),
    ("claude-opus-4-8", "Claude Opus 4.8"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6"),
    ("claude-haiku-4-5", "Claude Haiku 4.5"),
    ("claude-opus-4-5", "Claude Opus 4.5"),
)
MODELS: tuple[dict[str, Any], ...] = tuple(
    {
        "type": "model",
        "id": model_id,
        "display_name": name,
        "created_at": _CREATED_AT,
        "lifecycle": "active",
    }
    for model_id, name in _CATALOG
)
_BY_ID = {model["id"]: model for model in MODELS}
_IDS = [model["id"] for model in MODELS]


def list_models(request: Request, request_id: str) -> Response:
    query = request.query_params
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    limit = int(raw_limit) if raw_limit.isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        return invalid_request(
            f"limit: Input should be between 1 and {MAX_LIMIT}, got {raw_limit!r}", request_id
        )
    before, after = query.get("before_id"), query.get("after_id")
    if before is not None:
        end = _IDS.index(before) if before in _IDS else 0
        start = max(0, end - limit)
        more = start > 0
    else:
        start = _IDS.index(after) + 1 if after in _IDS else 0 if after is None else len(_IDS)
        end = min(len(_IDS), start + limit)
        more = end < len(_IDS)
    page = MODELS[start:end]
    return Response(
        orjson.dumps(
            {
                "data": page,
                "has_more": more,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            }
        ),
        media_type="application/json",
    )


def retrieve_model(request: Request, request_id: str) -> Response:
    model_id: str = request.path_params["model_id"]
    model = _BY_ID.get(model_id)
    if model is None:
        return error_response(404, "not_found_error", f"model: {model_id}", request_id)
    return Response(orjson.dumps(model), media_type="application/json")
