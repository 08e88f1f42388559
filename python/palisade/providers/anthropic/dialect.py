"""The Anthropic dialect: credentials in `x-api-key` (or `Authorization: Bearer`, as Claude
Code sends `ANTHROPIC_AUTH_TOKEN`), `{"type": "error", "error": {...}}` errors, and an `error`
event as a stream's last word.

A gateway error keeps its message and status; its type is Anthropic's for the status (the
SDKs pick their exception class by status, and show the type), and the `x-palisade-error` header
carries the gateway's own code, as on every dialect.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from palisade.errors import GatewayError
from palisade.providers.bearer import bearer

# The API version the gateway sends when the client sent none (a translated request); a
# client's own `anthropic-version` is forwarded unchanged.
API_VERSION = "2023-06-01"

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


_VERSION: Mapping[str, str] = {"anthropic-version": API_VERSION}


def error_type(status: int) -> str:
    if status in _TYPES:
        return _TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


class AnthropicDialect:
    name = "anthropic"
    credential_hint = "`x-api-key` or `Authorization: Bearer ...`"
    default_auth_header = "x-api-key"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        key = headers.get("x-api-key")
        if key is not None and key.strip():
            return key.strip()
        return bearer(headers)

    def error_type(self, error: GatewayError) -> str:
        return error_type(error.status)

    def error_body(self, error: GatewayError) -> bytes:
        return orjson.dumps(self._error(error))

    def error_event(self, error: GatewayError) -> bytes:
        return b"event: error\ndata: " + orjson.dumps(self._error(error)) + b"\n\n"

    def _error(self, error: GatewayError) -> dict[str, object]:
        return {
            "type": "error",
            "error": {"type": self.error_type(error), "message": error.message},
        }

    def upstream_headers(self) -> Mapping[str, str]:
        return _VERSION


ANTHROPIC = AnthropicDialect()
