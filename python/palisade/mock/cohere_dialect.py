"""What the Cohere surface says around every endpoint: its auth, refusals, failures, headers.

Cohere takes the key as `Authorization: Bearer`; a missing one is a 401 `no api key supplied`,
a wrong one a 401 `invalid api token`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from palisade.mock.cohere_errors import COHERE_FAILURES, error_response, failure_response
from palisade.mock.errors import InvalidRequest
from palisade.mock.knobs import Knobs


class CohereDialect:
    failures = COHERE_FAILURES
    stream_failures = frozenset({"drop", "stream_error"})
    not_json = "invalid request: the body must be a JSON object."

    def __init__(self, api_key: str | None) -> None:
        self.api_key = api_key

    def gate(self, request: Request, request_id: str) -> Response | None:
        auth = request.headers.get("authorization", "")
        key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if not key:
            return error_response(401, "no api key supplied", request_id)
        if self.api_key is not None and key != self.api_key:
            return error_response(401, "invalid api token", request_id)
        return None

    def refuse(self, error: InvalidRequest, request_id: str) -> Response:
        return error_response(400, f"invalid request: {error.message}", request_id)

    async def fail(self, knobs: Knobs, request_id: str) -> Response:
        return await failure_response(knobs, request_id)

    def headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return [(b"x-debug-trace-id", request_id.encode())]
