"""Bedrock-format errors as botocore reads them, and the credentials a Bedrock client presents:
botocore 1.44 sends `Authorization: Bearer` when `AWS_BEARER_TOKEN_BEDROCK` is set."""

from __future__ import annotations

from typing import Any

import boto3
import orjson
import pytest
from botocore.awsrequest import AWSResponse
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError

from palisade.errors import GatewayError
from palisade.providers.bedrock import BEDROCK


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ValidationException"),
        (401, "UnrecognizedClientException"),
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (429, "ThrottlingException"),
        (500, "InternalServerException"),
        (503, "ServiceUnavailableException"),
        (504, "ModelTimeoutException"),
    ],
)
def test_gateway_errors_reach_botocore_with_their_code(status: int, code: str) -> None:
    error = GatewayError("Palisade: no.", status=status)
    response = error.to_response(BEDROCK.error_body(error))
    assert orjson.loads(response.body) == {"message": "Palisade: no."}
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        endpoint_url="http://gateway.test",
    )
    headers = {k.decode(): v.decode() for k, v in response.raw_headers}

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        raw: Any = type("Raw", (), {"stream": lambda self, **k: iter([response.body])})()
        return AWSResponse(request.url, status, headers, raw)

    client.meta.events.register("before-send.bedrock-runtime.Converse", answer)
    with pytest.raises(ClientError) as raised:
        client.converse(modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["Error"]["Message"] == "Palisade: no."


def test_the_stream_error_is_an_exception_message() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(BEDROCK.error_event(GatewayError("slow down", status=429)))
    [message] = list(buffer)
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == "throttlingException"
    assert orjson.loads(message.payload) == {"message": "slow down"}


def test_botocore_sends_a_bearer_token_and_a_sigv4_signature_is_no_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "pal-virtual-key")
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url="https://gateway.test/v1/bedrock"
    )
    seen: dict[str, str] = {}

    def capture(request: Any, **kwargs: Any) -> AWSResponse:
        seen.update(
            {
                k.lower(): v.decode() if isinstance(v, bytes) else v
                for k, v in request.headers.items()
            }
        )
        raw: Any = type("Raw", (), {"stream": lambda self, **k: iter([b"{}"])})()
        return AWSResponse(request.url, 200, {"content-type": "application/json"}, raw)

    client.meta.events.register("before-send.bedrock-runtime.Converse", capture)
    client.converse(modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert seen["authorization"] == "Bearer pal-virtual-key"
    assert BEDROCK.credential(seen) == "pal-virtual-key"
    sigv4 = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request, ..."
    assert BEDROCK.credential({"authorization": sigv4}) is None
