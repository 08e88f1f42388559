"""What the Gemini surfaces say around every endpoint: auth, refusals, failures, headers.

Google's API takes its key in `x-goog-api-key` or `?key=`, or an OAuth token as
`Authorization: Bearer` (Vertex AI takes only the token: `VertexDialect`, which cannot check a
token it never issued, and requires one).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from palisade.mock.anthropic_dialect import AnthropicDialect
from palisade.mock.errors import InvalidRequest
from palisade.mock.gemini_errors import GEMINI_FAILURES, error_response, failure_response
from palisade.mock.knobs import Knobs


class GeminiDialect:
    failures = GEMINI_FAILURES
    # A blocked prompt is a 200, so a stream says it in its one event.
    stream_failures = frozenset({"drop", "stream_error", "content_filter"})
    not_json = "Invalid JSON payload received. Expected a JSON object."

    def __init__(self, api_key: str | None) -> None:
        self.api_key = api_key

    def gate(self, request: Request, request_id: str) -> Response | None:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if key is None:
            auth = request.headers.get("authorization", "")
            key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if not key:
            return error_response(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        if self.api_key is not None and key != self.api_key:
            return error_response(400, "API key not valid. Please pass a valid API key.")
        return None

    def refuse(self, error: InvalidRequest, request_id: str) -> Response:
        return error_response(400, error.message)

    async def fail(self, knobs: Knobs, request_id: str) -> Response:
        return await failure_response(knobs)

    def headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return [(b"x-gemini-service-tier", b"standard")]


class VertexDialect(GeminiDialect):
    def gate(self, request: Request, request_id: str) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return error_response(
                401,
                "Request is missing required authentication credential. Expected OAuth 2 "
                "access token.",
            )
        return None


class VertexAnthropicDialect(AnthropicDialect):
    """Anthropic-on-Vertex: Anthropic's bodies and errors, Google's OAuth token."""

    def gate(self, request: Request, request_id: str) -> Response | None:
        refused = VertexDialect(None).gate(request, request_id)
        if refused is not None:
            return refused
        return None
