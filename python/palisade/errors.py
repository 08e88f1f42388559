"""Errors the gateway itself makes.

Upstream errors never pass through here: they are relayed byte for byte (or translated). Every
refusal the gateway decides on its own raises `GatewayError`; the generation routes render it in
the client's dialect (`providers.base.Dialect.error_body`), every other route as OpenAI's
`{"error": {"message", "type", "param", "code"}}`, always with the right status and the
`x-palisade-error` header that tells a gateway error from a provider's.

A refusal that a retry cannot change (a 4xx but 408, 409 and 429) also says
`x-should-retry: false`, the header the OpenAI and Anthropic SDKs obey before their own rules:
Claude Code otherwise retries a 401 for minutes, in case the credential was being refreshed.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

GATEWAY_ERROR_HEADER = "x-palisade-error"
SHOULD_RETRY_HEADER = "x-should-retry"
# The 4xx a client may rightly try again: a slow body, a conflict, a limit that refills.
_RETRYABLE_4XX = frozenset({408, 409, 429})


class GatewayError(Exception):
    status: int = 400
    type: str = "invalid_request_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        if code is not None:
            self.code = code
        self.param = param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def to_response(self, body: bytes | None = None) -> Response:
        """`body`: the error in the client's dialect (default: OpenAI's)."""
        headers = {GATEWAY_ERROR_HEADER: self.code or self.type}
        if 400 <= self.status < 500 and self.status not in _RETRYABLE_4XX:
            headers[SHOULD_RETRY_HEADER] = "false"
        headers.update(self.headers)
        return Response(
            orjson.dumps(self.body()) if body is None else body,
            status_code=self.status,
            media_type="application/json",
            headers=headers,
        )


class BadRequest(GatewayError):
    status = 400
    code = "invalid_request"


class PayloadTooLarge(GatewayError):
    status = 413
    code = "request_too_large"


class UnsupportedMediaType(GatewayError):
    status = 415
    code = "unsupported_media_type"


class NotFound(GatewayError):
    status = 404
    code = "not_found"


class ModelNotFound(GatewayError):
    status = 404
    code = "model_not_found"


class UpstreamUnreachable(GatewayError):
    status = 502
    type = "upstream_error"
    code = "upstream_unreachable"


class UpstreamTimeout(GatewayError):
    status = 504
    type = "upstream_error"
    code = "upstream_timeout"


class InternalError(GatewayError):
    status = 500
    type = "server_error"
    code = "internal_error"


class GuardrailViolation(GatewayError):
    """A guardrail blocked the request or the answer. The message names the guardrail, the
    rule and the entity types, never the matched text."""

    status = 400
    type = "guardrail_violation"
    code = "guardrail_violation"
