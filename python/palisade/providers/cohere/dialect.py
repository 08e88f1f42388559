"""The Cohere dialect: credentials in `Authorization: Bearer`, `{"message": ...}` errors, and a
`message-end` event with `finish_reason: "ERROR"` as a stream's last word.

Cohere's SDKs pick their exception class by status alone (`cohere.errors`: 400
BadRequestError, 401 UnauthorizedError, 403 ForbiddenError, 404 NotFoundError, 422
UnprocessableEntityError, 429 TooManyRequestsError, 498 InvalidTokenError, 500
InternalServerError, 501 NotImplementedError, 503 ServiceUnavailableError, 504
GatewayTimeoutError, any other ApiError) and keep the parsed body: a gateway error keeps its
status and message, and the `x-palisade-error` header carries the gateway's own code, as on every
dialect. Inside a stream the SDKs raise on nothing (they skip what they cannot parse): Cohere
itself ends a failed generation with `message-end` whose `delta.finish_reason` is `ERROR` and
`delta.error` the message, which the SDK hands over as the last event; the gateway does the
same.
"""

from __future__ import annotations

import orjson

from palisade.errors import GatewayError
from palisade.providers.bearer import BearerDialect


def error_event(message: str) -> bytes:
    data = {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": message}}
    return b"event: message-end\ndata: " + orjson.dumps(data) + b"\n\n"


class CohereDialect(BearerDialect):
    """Cohere's errors have no type: the gateway's own one, for records and logs."""

    name = "cohere"

    def error_body(self, error: GatewayError) -> bytes:
        return orjson.dumps({"message": error.message})

    def error_event(self, error: GatewayError) -> bytes:
        return error_event(error.message)


COHERE = CohereDialect()
