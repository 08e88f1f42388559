"""The mock's Bedrock side, driven by boto3 itself: botocore's own SigV4 signature is what the
mock checks (a wrong secret or an unknown key is refused as AWS refuses it), Converse answers and
streams in AWS's binary framing, the invoke API for Anthropic models, and the failure knobs."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx2 as httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from palisade.mock.settings import MockSettings
from tests.helpers.servers import RunningServer

SECRET = MockSettings.aws_secret_access_key
MESSAGES = [{"role": "user", "content": [{"text": "Hello there."}]}]


def client(server: RunningServer, secret: str = SECRET, key: str = "") -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=server.url,
        region_name="us-west-2",
        aws_access_key_id=key or "AKIDPALISADETEST",
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def test_converse_signed_by_botocore_is_answered(mock_server: RunningServer) -> None:
    answer = client(mock_server).converse(
        modelId="anthropic.claude-3-haiku-20240307-v1:0",
        messages=MESSAGES,
        inferenceConfig={"maxTokens": 3},
    )
    assert answer["stopReason"] == "max_tokens"
    assert answer["usage"]["outputTokens"] == 3
    assert answer["output"]["message"]["role"] == "assistant"


@pytest.mark.parametrize(
    ("secret", "key", "code"),
    [
        ("wrong", "", "InvalidSignatureException"),
        (SECRET, "AKIDSOMEONEELSE", "UnrecognizedClientException"),
    ],
)
def test_a_bad_signature_is_refused_like_aws(
    mock_server: RunningServer, secret: str, key: str, code: str
) -> None:
    with pytest.raises(ClientError) as raised:
        client(mock_server, secret, key).converse(modelId="m", messages=MESSAGES)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_unsigned_request_is_refused(mock_server: RunningServer) -> None:
    answer = httpx.post(f"{mock_server.url}/model/m/converse", json={"messages": MESSAGES})
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_converse_stream_with_a_forced_tool(mock_server: RunningServer) -> None:
    spec = {
        "toolSpec": {
            "name": "lookup",
            "inputSchema": {"json": {"type": "object", "properties": {"id": {"type": "integer"}}}},
        }
    }
    answer = client(mock_server).converse_stream(
        modelId="m",
        messages=MESSAGES,
        toolConfig={"tools": [spec], "toolChoice": {"any": {}}},
    )
    events = list(answer["stream"])
    assert [next(iter(e)) for e in events][:2] == ["messageStart", "contentBlockStart"]
    arguments = "".join(
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "contentBlockDelta" in e
    )
    assert set(json.loads(arguments)) == {"id"}
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["totalTokens"] > 0


def test_failure_knobs_speak_bedrock(mock_server: RunningServer) -> None:
    with pytest.raises(ClientError) as raised:
        client(mock_server).converse(
            modelId="m",
            messages=MESSAGES,
            additionalModelRequestFields={"mock": {"fail": "503"}},
        )
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailableException"
    stream = client(mock_server).converse_stream(
        modelId="m",
        messages=MESSAGES,
        additionalModelRequestFields={"mock": {"fail": "stream_error", "fail_after_chunks": 1}},
    )
    with pytest.raises(EventStreamError):
        list(stream["stream"])
    with pytest.raises(ClientError) as unknown:
        client(mock_server).converse(
            modelId="m", messages=MESSAGES, additionalModelRequestFields={"mock": {"nope": 1}}
        )
    assert unknown.value.response["Error"]["Code"] == "ValidationException"


def test_invoke_takes_anthropics_body_on_bedrocks_terms(mock_server: RunningServer) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "hi"}],
        "mock": {"reply": "Hi."},
    }
    answer = client(mock_server).invoke_model(modelId="anthropic.claude", body=json.dumps(body))
    assert json.loads(answer["body"].read())["content"] == [{"type": "text", "text": "Hi."}]
    stream = client(mock_server).invoke_model_with_response_stream(
        modelId="anthropic.claude", body=json.dumps(body)
    )
    events = [json.loads(e["chunk"]["bytes"]) for e in stream["body"]]
    assert "ping" not in {e["type"] for e in events}
    assert events[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] > 0
    with pytest.raises(ClientError) as raised:
        client(mock_server).invoke_model(
            modelId="anthropic.claude", body=json.dumps({**body, "model": "x"})
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
