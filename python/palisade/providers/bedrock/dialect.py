"""The Bedrock dialect: AWS's error format and credentials.

Errors are `{"message": ...}` with the error's code in the `x-amzn-errortype` header, which is
where botocore reads a REST-JSON service's error code (`ClientError.response["Error"]["Code"]`);
in an event stream, an `exception` message whose `:exception-type` names one of the stream's
exception members (`throttlingException`, ...), which botocore raises as an `EventStreamError`.

Credentials: boto3 clients sign with SigV4, which the gateway cannot check without the
client's secret, so a SigV4 `Authorization` is no credential (an open proxy serves it; one that
requires a credential answers 401). A Palisade key goes as a bearer token: botocore sends
`Authorization: Bearer <token>` when `AWS_BEARER_TOKEN_BEDROCK` is set (HTTPS endpoints only).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from palisade._core import frame_exception
from palisade.errors import GatewayError

ERROR_TYPE_HEADER = "x-amzn-errortype"

# HTTP status -> Bedrock's error code (the Converse API's error list).
_CODES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    402: "ServiceQuotaExceededException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    413: "ValidationException",
    415: "ValidationException",
    422: "ValidationException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
    504: "ModelTimeoutException",
}
# The exception members of ConverseStream's output: an exception of another name would reach a
# botocore client as an unknown event.
_STREAM_EXCEPTIONS = {
    400: "validationException",
    429: "throttlingException",
    503: "serviceUnavailableException",
}


def error_code(status: int) -> str:
    if status in _CODES:
        return _CODES[status]
    return "InternalServerException" if status >= 500 else "ValidationException"


def stream_exception(status: int, code: str | None = None) -> str:
    if code == "upstream_stream_interrupted":
        return "modelStreamErrorException"
    if status in _STREAM_EXCEPTIONS:
        return _STREAM_EXCEPTIONS[status]
    return "internalServerException" if status >= 500 else "validationException"


def bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None  # a SigV4 signature (`AWS4-HMAC-SHA256 ...`) is no Palisade credential
    return token.strip()


class BedrockDialect:
    name = "bedrock"
    credential_hint = "`Authorization: Bearer ...` (`AWS_BEARER_TOKEN_BEDROCK`)"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        return bearer(headers)

    def error_type(self, error: GatewayError) -> str:
        return error_code(error.status)

    def error_body(self, error: GatewayError) -> bytes:
        # The code goes in a header: the error's own headers are the response's
        # (`GatewayError.to_response`), which is rendered from this body.
        error.headers.setdefault(ERROR_TYPE_HEADER, error_code(error.status))
        return orjson.dumps({"message": error.message})

    def error_event(self, error: GatewayError) -> bytes:
        name = stream_exception(error.status, error.code)
        return frame_exception(name, orjson.dumps({"message": error.message}))

    def upstream_headers(self) -> Mapping[str, str]:
        return {}


BEDROCK = BedrockDialect()
