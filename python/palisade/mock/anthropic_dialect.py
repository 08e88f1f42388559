"""What the Anthropic surface says around every endpoint: its auth, refusals, failures, headers.

Anthropic's own clients send the key as `x-api-key`; others (and the Python SDK for an
`api_key`) send `Authorization: Bearer`, which the API accepts too. With both, `x-api-key`
decides.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from palisade.mock.anthropic_errors import (
    ANTHROPIC_FAILURES,
    error_response,
    failure_response,
    invalid_request,
)
from palisade.mock.errors import InvalidRequest
from palisade.mock.knobs import Knobs

# A fixed organization, so that tests can see whether the gateway passes account headers on.
ORGANIZATION_ID = b"5e0c6a1f-3b7d-4c2e-9a8f-7f3a0c0ffee1"


class AnthropicDialect:
    failures = ANTHROPIC_FAILURES
    stream_failures = frozenset({"drop", "stream_error"})
    not_json = "There was an issue with the format of your request: the body must be JSON."

    def __init__(self, api_key: str | None) -> None:
        self.api_key = api_key

    def gate(self, request: Request, request_id: str) -> Response | None:
        key = request.headers.get("x-api-key")
        if key is None:
            auth = request.headers.get("authorization", "")
            key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if not key:
            return error_response(
                401, "authentication_error", "x-api-key header is required", request_id
            )
        if self.api_key is not None and key != self.api_key:
            return error_response(401, "authentication_error", "invalid x-api-key", request_id)
        if "anthropic-version" not in request.headers:
            return invalid_request("anthropic-version: header is required", request_id)
        return None

    def refuse(self, error: InvalidRequest, request_id: str) -> Response:
        return invalid_request(error.message, request_id)

    async def fail(self, knobs: Knobs, request_id: str) -> Response:
        return await failure_response(knobs, request_id)

    def headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return [
            (b"request-id", request_id.encode()),
            (b"anthropic-organization-id", ORGANIZATION_ID),
        ]
