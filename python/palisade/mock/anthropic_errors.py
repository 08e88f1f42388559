"""Errors in Anthropic's wire format, and the injected failures (`mock.fail`) spoken in it.

A body is `{"type": "error", "error": {"type", "message"}, "request_id"}`; the error type goes
with the status (platform.claude.com/docs/en/api/errors): 400 invalid_request_error,
401 authentication_error, 404 not_found_error, 429 rate_limit_error, 500 api_error,
504 timeout_error, 529 overloaded_error. A stream that fails after its 200 ends with an
`event: error` carrying the same object without the request id, as the docs show it.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from palisade.mock.failures import DroppedResponse, HangingResponse
from palisade.mock.knobs import FAILURES, Knobs
from palisade.mock.ratelimit import anthropic_headers
from palisade.mock.sse import named_event, pause

# 529 and a stream that reports an error mid-way are how Anthropic fails and OpenAI does not.
ANTHROPIC_FAILURES = FAILURES | {"529", "stream_error", "content_filter"}

OVERLOADED = "Overloaded"


def error_response(
    status: int,
    type: str,
    message: str,
    request_id: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"type": "error", "error": {"type": type, "message": message}, "request_id": request_id}
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


def invalid_request(message: str, request_id: str) -> Response:
    return error_response(400, "invalid_request_error", message, request_id)


def error_event(type: str, message: str) -> bytes:
    return named_event("error", {"type": "error", "error": {"type": type, "message": message}})


async def failure_response(knobs: Knobs, request_id: str) -> Response:
    """The answer for `knobs.fail`, except the failures a stream performs itself."""
    if knobs.fail == "hang":
        return HangingResponse(
            error_response(504, "timeout_error", "Request timed out", request_id)
        )
    await pause(knobs.latency_ms)
    if knobs.fail == "429":
        return error_response(
            429,
            "rate_limit_error",
            "This request would exceed your organization's rate limit (mock). "
            "Please try again later.",
            request_id,
            headers=anthropic_headers(knobs.retry_after),
        )
    if knobs.fail == "500":
        return error_response(500, "api_error", "Internal server error", request_id)
    if knobs.fail == "503":
        # Not a status Anthropic documents: answered as its generic server error.
        return error_response(503, "api_error", "Service unavailable", request_id)
    if knobs.fail == "context_length":
        return invalid_request("prompt is too long: 208310 tokens > 200000 maximum", request_id)
    if knobs.fail == "content_filter":
        return invalid_request("Output blocked by content filtering policy", request_id)
    if knobs.fail in ("529", "stream_error"):
        # Without a stream to break, an error mid-stream is the overload it reports.
        return error_response(529, "overloaded_error", OVERLOADED, request_id)
    return DroppedResponse()
