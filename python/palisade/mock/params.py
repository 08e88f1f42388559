"""Reading request parameters, refusing what the real API refuses with the same messages."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from palisade.mock.errors import InvalidRequest

SYSTEM_FINGERPRINT = "fp_mock0000001"


def json_response(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def model(body: dict[str, Any]) -> str:
    value = body.get("model")
    if value is None:
        raise _invalid("you must provide a model parameter", None)
    if not isinstance(value, str) or not value:
        raise _invalid("Invalid type for 'model': expected a string.", "model", "invalid_type")
    return value


def required_list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name)
    if value is None:
        raise _invalid(f"Missing required parameter: '{name}'.", name, "missing_required_parameter")
    if not isinstance(value, list):
        raise _invalid(f"Invalid type for '{name}': expected an array.", name, "invalid_type")
    return value


def optional_int(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"Invalid type for '{name}': expected an integer.", name, "invalid_type")
    if not low <= value <= high:
        raise _invalid(
            f"Invalid '{name}': {value} is not between {low} and {high}.", name, "invalid_value"
        )
    return value


def stream(body: dict[str, Any]) -> bool:
    return body.get("stream") is True


def include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _invalid(message: str, param: str | None, code: str | None = None) -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)
