"""OpenAI error objects as the translations into chat completions write them (an answer's
body, or a stream's last item), from a provider's status and error body."""

from __future__ import annotations

from typing import Any, Final

_OPENAI_ERROR_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "server_error",
    503: "service_unavailable_error",
    504: "timeout_error",
    529: "service_unavailable_error",
}


def openai_error_type(status: int) -> str:
    if status in _OPENAI_ERROR_TYPES:
        return _OPENAI_ERROR_TYPES[status]
    return "server_error" if status >= 500 else "invalid_request_error"


def chat_error(message: object, kind: str, code: object) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def body_text(status: int, body: bytes) -> str:
    """The message of an error body that is no JSON: its text, else the status."""
    text = body.decode("utf-8", "replace").strip()
    return text[:2000] or f"upstream error (HTTP {status})"
