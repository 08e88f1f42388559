"""Errors in Cohere's wire format, and the injected failures (`mock.fail`) spoken in it.

A body is `{"id": <request id>, "message": ...}`; Cohere's SDKs pick their exception by the
status (400 BadRequestError, 401 UnauthorizedError, 429 TooManyRequestsError, 500
InternalServerError, 503 ServiceUnavailableError, 504 GatewayTimeoutError, ...). A stream that
fails after its 200 ends with a `message-end` event whose `delta.finish_reason` is `ERROR` and
`delta.error` the message.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from palisade.mock.failures import DroppedResponse, HangingResponse
from palisade.mock.knobs import FAILURES, Knobs
from palisade.mock.sse import named_event, pause

COHERE_FAILURES = FAILURES | {"stream_error"}

STREAM_ERROR = "internal server error, this has been reported to our developers"


def error_response(
    status: int, message: str, request_id: str, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps({"id": request_id, "message": message}),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def error_event(message: str) -> bytes:
    return named_event(
        "message-end",
        {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": message}},
    )


async def failure_response(knobs: Knobs, request_id: str) -> Response:
    """The answer for `knobs.fail`, except the failures a stream performs itself."""
    if knobs.fail == "hang":
        return HangingResponse(error_response(504, "request timed out", request_id))
    await pause(knobs.latency_ms)
    if knobs.fail == "429":
        return error_response(
            429,
            "You are past the rate limit of this API key (mock). Please try again later.",
            request_id,
            headers={"retry-after": knobs.retry_after},
        )
    if knobs.fail in ("500", "stream_error"):
        # Without a stream to break, an error mid-stream is the server error it reports.
        return error_response(500, STREAM_ERROR, request_id)
    if knobs.fail == "503":
        return error_response(503, "service unavailable", request_id)
    if knobs.fail == "context_length":
        return error_response(
            400,
            "too many tokens: total number of tokens in the prompt cannot exceed 128000 - "
            "received 131072. Try using a shorter prompt, or enabling prompt truncating.",
            request_id,
        )
    return DroppedResponse()
