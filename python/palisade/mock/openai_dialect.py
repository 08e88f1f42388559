"""What the OpenAI surface says around every endpoint: its auth, refusals, failures, headers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from palisade.mock.errors import InvalidRequest, error_response, invalid_request
from palisade.mock.failures import failure_response
from palisade.mock.knobs import FAILURES, Knobs

MOCK_ORGANIZATION = b"mock-org-7f3a"


class OpenAIDialect:
    failures = FAILURES | {"content_filter"}
    stream_failures = frozenset({"drop"})
    not_json = "We could not parse the JSON body of your request. The body must be a JSON object."

    def __init__(self, api_key: str | None) -> None:
        self.expected_auth = None if api_key is None else f"Bearer {api_key}"

    def gate(self, request: Request, request_id: str) -> Response | None:
        auth = request.headers.get("authorization")
        if auth is None or not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return error_response(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                type="invalid_request_error",
            )
        if self.expected_auth is not None and auth != self.expected_auth:
            return error_response(
                401,
                "Incorrect API key provided.",
                type="invalid_request_error",
                code="invalid_api_key",
            )
        return None

    def refuse(self, error: InvalidRequest, request_id: str) -> Response:
        return invalid_request(error)

    async def fail(self, knobs: Knobs, request_id: str) -> Response:
        return await failure_response(knobs)

    def headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        # As OpenAI does on every answer: its request id and the caller's organization.
        return [(b"x-request-id", request_id.encode()), (b"openai-organization", MOCK_ORGANIZATION)]
