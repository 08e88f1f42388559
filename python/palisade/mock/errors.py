"""Errors in the OpenAI wire format: `{"error": {"message", "type", "param", "code"}}`."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response


class InvalidRequest(Exception):
    """A request the real API would refuse with 400 `invalid_request_error`."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def error_response(
    status: int,
    message: str,
    *,
    type: str,
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


def invalid_request(error: InvalidRequest) -> Response:
    return error_response(
        400, error.message, type="invalid_request_error", param=error.param, code=error.code
    )
