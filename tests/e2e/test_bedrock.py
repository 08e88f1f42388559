"""Bedrock through a real Granian gateway: boto3's `bedrock-runtime` client, unchanged but for its
endpoint, on the native Converse routes; the openai and anthropic SDKs reaching a Bedrock model
through the model router (translated); the mock checking every request's SigV4 signature."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import boto3
import httpx2 as httpx
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from palisade.pricing import PriceTable, Usage
from tests.e2e.conftest import GUARDRAILS
from tests.helpers.records import interaction
from tests.helpers.servers import free_port, start_process_server

# The e2e proxies (guardrails on some), and one that requires a Palisade key.
KEYED = GUARDRAILS.replace(
    "default_proxy:", "  - {name: Keyed, auth: [virtual_key]}\ndefault_proxy:"
)
ADMIN_TOKEN = "bedrock-admin-token-" + "Xy7" * 6
AWS_KEY = "AKIDPALISADETEST"
AWS_SECRET = "palisade-mock-aws-secret"
MODEL = "mock-bedrock:anthropic.claude-3-haiku-20240307-v1:0"
# Built at run time so that no secret scanner flags this test file.
SECRET = "sk-proj-" + "Q7vX2mK9pL4wR8tY1nB5cJ3hF6dS0aZe" + "T3BlbkFJ" + "uV8kN2qW5xM1rP9s"
WEATHER_SPEC = {
    "toolSpec": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            }
        },
    }
}


@dataclass
class Stack:
    gateway: str
    mock: str

    def mock_requests(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        requests: list[dict[str, Any]] = answer.json()
        return requests

    def clear_mock(self) -> None:
        httpx.delete(f"{self.mock}/_mock/requests").raise_for_status()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("bedrock")
    mock_port, gateway_port = free_port(), free_port()
    config = tmp / "palisade.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {gateway_port}}}
store: {{sqlite_path: {tmp / "palisade.db"}}}
auto_providers: false
admin: {{token: {ADMIN_TOKEN}}}
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
  mock-bedrock:
    kind: bedrock
    base_url: http://127.0.0.1:{mock_port}
    region: us-east-1
    aws_access_key_id: {AWS_KEY}
    aws_secret_access_key: {AWS_SECRET}
  wrong-secret:
    kind: bedrock
    base_url: http://127.0.0.1:{mock_port}/v1
    region: eu-west-1
    aws_access_key_id: {AWS_KEY}
    aws_secret_access_key: not-the-secret
{KEYED}"""
    )
    palisade = [sys.executable, "-m", "palisade.cli"]
    mock_argv = [*palisade, "mock-upstream", "--port", str(mock_port)]
    gateway_argv = [*palisade, "serve", "--config", str(config)]
    with (
        start_process_server(mock_argv, mock_port),
        start_process_server(gateway_argv, gateway_port),
    ):
        yield Stack(f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{mock_port}")


def bedrock(stack: Stack, path: str = "/v1/bedrock") -> Any:
    # The client's own credentials sign its request to the gateway, which cannot check them
    # (an open proxy) and signs again with its own.
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=f"{stack.gateway}{path}",
        region_name="us-east-1",
        aws_access_key_id="AKIDCLIENTSIDE",
        aws_secret_access_key="client-side-secret",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def knobs(**values: Any) -> dict[str, Any]:
    return {"mock": values}


def streamed_text(stream: Any) -> str:
    events = stream["stream"]
    return "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )


def wait_for_record(stack: Stack, request_id: str) -> dict[str, Any]:
    return interaction(stack.gateway, request_id, ADMIN_TOKEN)


def test_converse_is_signed_by_the_gateway_and_answered_as_bedrock(stack: Stack) -> None:
    stack.clear_mock()
    answer = bedrock(stack).converse(
        modelId=MODEL,
        system=[{"text": "Be brief."}],
        messages=user("Say hello."),
        inferenceConfig={"maxTokens": 64},
        additionalModelRequestFields=knobs(reply="Hello from Bedrock!"),
    )
    assert answer["output"]["message"]["content"] == [{"text": "Hello from Bedrock!"}]
    assert answer["stopReason"] == "end_turn"
    usage = answer["usage"]
    assert usage["inputTokens"] > 0
    assert usage["outputTokens"] > 0
    (seen,) = stack.mock_requests()
    # The provider's model id, percent-encoded in the path; the gateway's credentials.
    assert seen["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/converse"
    auth = seen["headers"]["authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_KEY}/")
    assert "/us-east-1/bedrock/aws4_request" in auth
    assert "AKIDCLIENTSIDE" not in json.dumps(seen["headers"])
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    record = wait_for_record(stack, headers["x-palisade-request-id"])
    assert record["provider"] == "mock-bedrock"
    assert (record["input_tokens"], record["output_tokens"]) == (
        usage["inputTokens"],
        usage["outputTokens"],
    )
    # Priced as Bedrock's list price of the model.
    expected = PriceTable().cost(
        "anthropic.claude-3-haiku-20240307-v1:0",
        Usage(usage["inputTokens"], usage["outputTokens"]),
        "mock-bedrock",
    )
    assert expected
    assert record["cost_usd"] == pytest.approx(expected)


def test_converse_stream_with_tool_use(stack: Stack) -> None:
    stream = bedrock(stack).converse_stream(
        modelId=MODEL,
        messages=user("Weather in Paris?"),
        toolConfig={"tools": [WEATHER_SPEC], "toolChoice": {"tool": {"name": "get_weather"}}},
    )
    events = list(stream["stream"])
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart"
    assert names[-2:] == ["messageStop", "metadata"]
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather"
    pieces = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "contentBlockDelta" in e
    ]
    assert len(pieces) > 1  # streamed in pieces, relayed as they came
    assert set(json.loads("".join(pieces))) == {"city"}
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_text_stream_is_relayed(stack: Stack) -> None:
    stream = bedrock(stack).converse_stream(
        modelId=MODEL,
        messages=user("Say hello."),
        additionalModelRequestFields=knobs(reply="one two three four five six"),
    )
    text = streamed_text(stream)
    assert text == "one two three four five six"


@pytest.mark.parametrize(
    ("fail", "status", "code"),
    [
        ("429", 429, "ThrottlingException"),
        ("500", 500, "InternalServerException"),
        ("503", 503, "ServiceUnavailableException"),
    ],
)
def test_provider_errors_reach_boto3_as_client_errors(
    stack: Stack, fail: str, status: int, code: str
) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock(stack).converse(
            modelId=MODEL, messages=user("hi"), additionalModelRequestFields=knobs(fail=fail)
        )
    error = raised.value.response
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status


def test_a_stream_that_fails_midway_raises_in_boto3(stack: Stack) -> None:
    stream = bedrock(stack).converse_stream(
        modelId=MODEL,
        messages=user("hi"),
        additionalModelRequestFields=knobs(fail="stream_error", fail_after_chunks=2),
    )
    with pytest.raises(EventStreamError) as raised:
        list(stream["stream"])
    assert raised.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_gateway_errors_are_in_bedrock_format(stack: Stack) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock(stack).converse(modelId="nowhere:model", messages=user("hi"))
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert "nowhere" in error["Error"]["Message"]


def test_a_wrong_secret_is_refused_by_the_mock_and_mapped(stack: Stack) -> None:
    stack.clear_mock()
    with pytest.raises(ClientError) as raised:
        bedrock(stack).converse(modelId="wrong-secret:some-model", messages=user("hi"))
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "InvalidSignatureException"
    (seen,) = stack.mock_requests()
    assert "/eu-west-1/bedrock/aws4_request" in seen["headers"]["authorization"]
    # Translated for an OpenAI client: the same status, OpenAI's format.
    client = openai.OpenAI(base_url=f"{stack.gateway}/v1", api_key="any", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as denied:
        client.chat.completions.create(
            model="wrong-secret:some-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert "signature" in denied.value.message


def test_a_secret_split_across_stream_events_is_redacted(stack: Stack) -> None:
    cut = 13
    stream = bedrock(stack, "/v1/bedrock/redacted").converse_stream(
        modelId=MODEL,
        messages=user("Show me the key."),
        additionalModelRequestFields=knobs(
            reply_chunks=["Here it is: ", SECRET[:cut], SECRET[cut:], " done."]
        ),
    )
    text = streamed_text(stream)
    assert SECRET not in text
    assert SECRET[:cut] not in text
    assert text.startswith("Here it is: ")
    assert text.endswith(" done.")


def test_a_tool_policy_blocks_a_streamed_tool_use(stack: Stack) -> None:
    spec = {"toolSpec": {"name": "run_shell", "inputSchema": {"json": {"type": "object"}}}}
    stream = bedrock(stack, "/v1/bedrock/agents").converse_stream(
        modelId=MODEL,
        messages=user("Clean up."),
        toolConfig={"tools": [spec]},
        additionalModelRequestFields=knobs(
            tool_calls=[{"name": "run_shell", "arguments": {"command": "rm -rf /"}}]
        ),
    )
    events = list(stream["stream"])
    assert not any("contentBlockStart" in e for e in events)
    assert "no-rm" in streamed_text({"stream": events})
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"


def test_a_proxy_that_requires_a_key_refuses_a_sigv4_signature(stack: Stack) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock(stack, "/v1/bedrock/keyed").converse(modelId=MODEL, messages=user("hi"))
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert error["Error"]["Code"] == "UnrecognizedClientException"


def test_a_virtual_key_as_a_bearer_token(stack: Stack) -> None:
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    key = httpx.post(
        f"{stack.gateway}/admin/v1/keys", json={"proxy": "keyed", "name": "aws"}, headers=admin
    )
    assert key.status_code in (200, 201), key.text
    token = key.json()["key"]
    # What botocore sends with AWS_BEARER_TOKEN_BEDROCK set (HTTPS only: tests/providers).
    url = f"{stack.gateway}/v1/bedrock/keyed/model/{MODEL.replace(':', '%3A')}/converse"
    body = {"messages": user("hi")}
    answer = httpx.post(url, json=body, headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["message"]["content"][0]["text"]
    wrong = httpx.post(url, json=body, headers={"authorization": "Bearer pal-wrong"})
    assert wrong.status_code in (401, 403)
    codes = ("UnrecognizedClientException", "AccessDeniedException")
    assert wrong.headers["x-amzn-errortype"] in codes
    assert set(wrong.json()) == {"message"}


def test_openai_chat_reaches_bedrock_with_tools_and_streams(stack: Stack) -> None:
    client = openai.OpenAI(base_url=f"{stack.gateway}/v1", api_key="any", max_retries=0)
    plain = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Brief."}, {"role": "user", "content": "hi"}],
        extra_headers={"x-mock-knobs": json.dumps({"reply": "Hi there."})},
    )
    assert plain.choices[0].message.content == "Hi there."
    assert plain.choices[0].finish_reason == "stop"
    assert plain.usage is not None
    assert plain.usage.completion_tokens > 0
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    called = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=tools,
        tool_choice="required",
    )
    (call,) = called.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert called.choices[0].finish_reason == "tool_calls"
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Weather?"}],
            tools=tools,
            tool_choice="required",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    arguments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""  # type: ignore[union-attr]
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert "city" in json.loads(arguments)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens > 0
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_headers={"x-mock-knobs": json.dumps({"reply": "Streamed words here."})},
        )
        if c.choices
    )
    assert text == "Streamed words here."


def test_anthropic_messages_reach_bedrock_through_chat(stack: Stack) -> None:
    client = anthropic.Anthropic(
        base_url=f"{stack.gateway}/v1/anthropic", api_key="any", max_retries=0
    )
    message = client.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-mock-knobs": json.dumps({"reply": "Hello, Claude client."})},
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello, Claude client."
    with client.messages.stream(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[
            {
                "name": "get_weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
        tool_choice={"type": "any"},
    ) as stream:
        final = stream.get_final_message()
    (use,) = [b for b in final.content if b.type == "tool_use"]
    assert use.name == "get_weather"
    assert "city" in use.input
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens > 0


def invoke_body(**extra: Any) -> bytes:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }
    return json.dumps(body).encode()


def test_invoke_anthropic_on_bedrock(stack: Stack) -> None:
    stack.clear_mock()
    answer = bedrock(stack).invoke_model(
        modelId=MODEL, body=invoke_body(mock={"reply": "Invoked."}), contentType="application/json"
    )
    message = json.loads(answer["body"].read())
    assert message["type"] == "message"
    assert message["content"] == [{"type": "text", "text": "Invoked."}]
    assert message["usage"]["output_tokens"] > 0
    (seen,) = stack.mock_requests()
    assert seen["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke"
    assert "model" not in seen["body"]
    assert seen["headers"]["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AWS_KEY}/")


def test_invoke_with_response_stream_is_relayed_and_guarded(stack: Stack) -> None:
    answer = bedrock(stack).invoke_model_with_response_stream(
        modelId=MODEL, body=invoke_body(mock={"reply": "Streamed by invoke."})
    )
    events = [json.loads(e["chunk"]["bytes"]) for e in answer["body"]]
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "message_stop"
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "Streamed by invoke."
    cut = 11
    redacted = bedrock(stack, "/v1/bedrock/redacted").invoke_model_with_response_stream(
        modelId=MODEL,
        body=invoke_body(mock={"reply_chunks": ["Key: ", SECRET[:cut], SECRET[cut:], " ok"]}),
    )
    events = [json.loads(e["chunk"]["bytes"]) for e in redacted["body"]]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert SECRET[:cut] not in text
    assert text.startswith("Key: ")
    assert text.endswith(" ok")


def test_invoke_errors_are_client_errors(stack: Stack) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock(stack).invoke_model(modelId=MODEL, body=invoke_body(mock={"fail": "429"}))
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    with pytest.raises(ClientError) as invalid:
        bedrock(stack).invoke_model(modelId=MODEL, body=invoke_body(model="x"))
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    # Another model's body: its texts would pass unread by the guardrails.
    with pytest.raises(ClientError) as titan:
        bedrock(stack).invoke_model(modelId=MODEL, body=json.dumps({"inputText": "hi"}))
    assert titan.value.response["Error"]["Code"] == "ValidationException"
    assert "converse" in titan.value.response["Error"]["Message"]
    stream = bedrock(stack).invoke_model_with_response_stream(
        modelId=MODEL, body=invoke_body(mock={"fail": "stream_error", "fail_after_chunks": 2})
    )
    with pytest.raises(EventStreamError) as broken:
        list(stream["body"])
    assert broken.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_openai_responses_reach_bedrock_through_chat(stack: Stack) -> None:
    client = openai.OpenAI(base_url=f"{stack.gateway}/v1", api_key="any", max_retries=0)
    knob = {"x-mock-knobs": json.dumps({"reply": "Responses via Converse."})}
    answer = client.responses.create(model=MODEL, input="hi", extra_headers=knob)
    assert answer.output_text == "Responses via Converse."
    assert answer.usage is not None
    assert answer.usage.output_tokens > 0
    events = list(client.responses.create(model=MODEL, input="hi", stream=True, extra_headers=knob))
    assert events[-1].type == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Responses via Converse."
