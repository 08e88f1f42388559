"""The mock's Azure OpenAI side: OpenAI's bodies at deployment URLs, the key in `api-key` and an
`api-version` query parameter required, as Azure does (`/openai/deployments/{d}/...`); the v1
API (`/openai/v1/...`) takes no version."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from palisade.mock.errors import error_response
from palisade.mock.openai_dialect import OpenAIDialect


class AzureDialect(OpenAIDialect):
    def __init__(self, api_key: str | None, *, versioned: bool) -> None:
        super().__init__(api_key)
        self.api_key = api_key
        self.versioned = versioned

    def gate(self, request: Request, request_id: str) -> Response | None:
        key = request.headers.get("api-key")
        if key is None:
            if request.headers.get("authorization", "").startswith("Bearer "):
                # An Entra ID token: any non-empty one passes (the mock checks no tokens).
                key = self.api_key
            else:
                return error_response(
                    401,
                    "Access denied due to missing subscription key. Make sure to include "
                    "subscription key when making requests to an API.",
                    type="invalid_request_error",
                    code="401",
                )
        if self.api_key is not None and key != self.api_key:
            return error_response(
                401,
                "Access denied due to invalid subscription key or wrong API endpoint.",
                type="invalid_request_error",
                code="401",
            )
        if self.versioned and not request.query_params.get("api-version"):
            return error_response(
                404, "Resource not found", type="invalid_request_error", code="404"
            )
        return None

    def headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return [(b"apim-request-id", request_id.encode()), (b"x-request-id", request_id.encode())]
