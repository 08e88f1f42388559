"""Errors as Google's APIs write them: `{"error": {"code", "message", "status"}}`, and the
failures a Gemini endpoint performs (`mock.fail`)."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from palisade.mock.failures import DroppedResponse, HangingResponse
from palisade.mock.knobs import FAILURES, Knobs
from palisade.mock.sse import data_event, pause

GEMINI_FAILURES = FAILURES | {"stream_error", "content_filter"}

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(code: int, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "status": _STATUS.get(code, "UNKNOWN")}}


def error_response(code: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(error_body(code, message)),
        status_code=code,
        headers=headers,
        media_type="application/json",
    )


# Google refuses a prompt its safety filters block with a 200: no candidates, the reason in
# `promptFeedback`.
BLOCKED = {
    "promptFeedback": {
        "blockReason": "SAFETY",
        "safetyRatings": [
            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
        ],
    },
    "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
}


def error_event(code: int, message: str) -> bytes:
    return data_event(error_body(code, message))


INTERNAL = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"


async def failure_response(knobs: Knobs) -> Response:
    """The answer for `knobs.fail`, except the failures a stream performs itself."""
    if knobs.fail == "hang":
        return HangingResponse(
            error_response(504, "Deadline expired before operation could complete.")
        )
    await pause(knobs.latency_ms)
    if knobs.fail == "429":
        return error_response(
            429,
            "Resource has been exhausted (e.g. check quota). (mock)",
            headers={"retry-after": knobs.retry_after},
        )
    if knobs.fail in ("500", "stream_error"):
        return error_response(500, INTERNAL)
    if knobs.fail == "503":
        return error_response(503, "The model is overloaded. Please try again later.")
    if knobs.fail == "context_length":
        return error_response(
            400,
            "The input token count (1200000) exceeds the maximum number of tokens allowed "
            "(1048576).",
        )
    if knobs.fail == "content_filter":
        return Response(orjson.dumps(BLOCKED), media_type="application/json")
    return DroppedResponse()
