"""The Gemini dialect: credentials in `x-goog-api-key` (or `Authorization: Bearer`; a `?key=`
query parameter is moved into the header by the route, `routes.gemini`), errors as Google APIs
write them (`{"error": {"code", "message", "status"}}`, the status a `google.rpc.Code` name),
and an error object as a stream's last event (the google-genai SDK raises on a chunk that starts
with `{"error":`).

A gateway error keeps its message and HTTP status; `details` carries the gateway's own code as
an `ErrorInfo` reason (and the `x-palisade-error` header, as on every dialect).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from palisade.errors import GatewayError
from palisade.providers.bearer import bearer

# HTTP status -> google.rpc.Code name, as Google's APIs map them (google/rpc/code.proto).
STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "FAILED_PRECONDITION",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_NONE: Mapping[str, str] = {}


def status_name(status: int) -> str:
    name = STATUS_NAMES.get(status)
    if name is not None:
        return name
    return "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"


def error_object(status: int, message: str, reason: str | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": status, "message": message, "status": status_name(status)}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "palisade",
            }
        ]
    return {"error": error}


class GeminiDialect:
    name = "gemini"
    credential_hint = "`x-goog-api-key`, `?key=` or `Authorization: Bearer ...`"
    default_auth_header = "x-goog-api-key"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        key = headers.get("x-goog-api-key")
        if key is not None and key.strip():
            return key.strip()
        return bearer(headers)

    def error_type(self, error: GatewayError) -> str:
        return status_name(error.status)

    def error_body(self, error: GatewayError) -> bytes:
        return orjson.dumps(error_object(error.status, error.message, error.code or error.type))

    def error_event(self, error: GatewayError) -> bytes:
        return b"data: " + self.error_body(error) + b"\n\n"

    def upstream_headers(self) -> Mapping[str, str]:
        return _NONE


GEMINI = GeminiDialect()
