"""The conformance matrix: every provider of the list, by {its native route, the model router},
by {chat, stream, forced tool call, usage, upstream error, a secret split across stream events},
through one real Granian gateway with one provider per list entry, all pointed at the mock.

Plain HTTP on purpose: the official SDKs are driven by the per-dialect tests; here a small
adapter per API (`Api`) says how to send a chat, a stream and a forced tool call, and how to read
the text, the tool call, the usage and an error. A provider's *native* route is its own prefix
speaking its own API (OpenAI's for the OpenAI-compatible ones); the *router* route is an OpenAI
chat client on `/v1/model-router` naming `<provider>:<model>`.

The cells that cannot hold as written for a documented reason assert that documented behaviour
instead (`EXCEPTIONS`, listed in the README's "Conformance matrix")."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import httpx2 as httpx
import pytest
from botocore.eventstream import EventStreamBuffer

from palisade.providers.catalog import KNOWN_PROVIDERS
from tests.helpers.google_token import google_token_server
from tests.helpers.records import interaction
from tests.helpers.servers import free_port, start_process_server

CLIENT_KEY = "conformance-client-key"
MOCK_KEY = "conformance-mock-key"
ADMIN = "conformance-admin-" + "Kp4" * 6
# The mock's Bedrock side checks SigV4 signatures made with these (its defaults).
AWS_KEY = "AKIDPALISADETEST"
AWS_SECRET = "palisade-mock-aws-secret"
# Built at run time so that no secret scanner flags this file.
SECRET = "sk-proj-" + "Q7vX2mK9pL4wR8tY1nB5cJ3hF6dS0aZe" + "T3BlbkFJ" + "uV8kN2qW5xM1rP9s"
HEAD = "The key is "
REPLY = f"{HEAD}{SECRET} - keep it."
REDACTED = f"{HEAD}[OPENAI_API_KEY_1] - keep it."
CUT = len(HEAD) + 9  # inside the secret: each event holds a part that alone matches nothing
TEXT = "Conformance holds."
CHUNKS = ["Confor", "mance ", "holds."]
# Two tools, the second forced by name: a call to it shows the forced choice arrived.
CLOCK = {
    "name": "get_time",
    "description": "The time in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "enum": ["Paris"]},
            "unit": {"type": "string", "enum": ["celsius"]},
        },
        "required": ["city", "unit"],
    },
}
# What the mock builds from WEATHER's schema, whatever the dialect.
ARGUMENTS = {"city": "Paris", "unit": "celsius"}
AZURE_VERSION = "2024-10-21"


# --- the APIs a client speaks -----------------------------------------------------------------


class Api:
    """How a client of one API calls a chat and reads the answer. `base` is the route's prefix
    (with a proxy id when one is named)."""

    content_type: ClassVar[str] = "text/event-stream"

    def url(self, base: str, model: str, stream: bool) -> str:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {CLIENT_KEY}"}

    def body(self, model: str, stream: bool, tools: bool) -> dict[str, Any]:
        raise NotImplementedError

    def text(self, answer: dict[str, Any]) -> str:
        raise NotImplementedError

    def usage(self, answer: dict[str, Any]) -> tuple[int, int]:
        raise NotImplementedError

    def tool_call(self, answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def events(self, raw: bytes) -> list[Any]:
        return _sse(raw)

    def stream_text(self, events: list[Any]) -> str:
        raise NotImplementedError

    def stream_usage(self, events: list[Any]) -> tuple[int, int] | None:
        raise NotImplementedError

    def check_error(self, answer: httpx.Response, status: int) -> None:
        """Asserts that `answer` is this API's error for `status`."""
        raise NotImplementedError


def _sse(raw: bytes) -> list[Any]:
    """The JSON payloads of an SSE stream (`[DONE]` kept as a string)."""
    out: list[Any] = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if data:
            payload = "\n".join(data)
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


class OpenAIChat(Api):
    def url(self, base: str, model: str, stream: bool) -> str:
        return f"{base}/chat/completions"

    def body(self, model: str, stream: bool, tools: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Hi."}]}
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        if tools:
            body["tools"] = [{"type": "function", "function": f} for f in (CLOCK, WEATHER)]
            body["tool_choice"] = {"type": "function", "function": {"name": WEATHER["name"]}}
        return body

    def text(self, answer: dict[str, Any]) -> str:
        content: str = answer["choices"][0]["message"]["content"]
        return content

    def usage(self, answer: dict[str, Any]) -> tuple[int, int]:
        return answer["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"]

    def tool_call(self, answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        assert answer["choices"][0]["finish_reason"] == "tool_calls"
        [call] = answer["choices"][0]["message"]["tool_calls"]
        return call["function"]["name"], json.loads(call["function"]["arguments"])

    def stream_text(self, events: list[Any]) -> str:
        assert events[-1] == "[DONE]"
        return "".join(
            c["choices"][0]["delta"].get("content") or "" for c in events[:-1] if c.get("choices")
        )

    def stream_usage(self, events: list[Any]) -> tuple[int, int] | None:
        found = [c["usage"] for c in events[:-1] if c.get("usage")]
        if not found:
            return None
        return found[-1]["prompt_tokens"], found[-1]["completion_tokens"]

    def check_error(self, answer: httpx.Response, status: int) -> None:
        assert answer.status_code == status, answer.text
        error = answer.json()["error"]
        assert isinstance(error["message"], str)
        assert error["message"]
        assert "type" in error


class AzureChat(OpenAIChat):
    """Azure's deployment route: the deployment in the path, the key in `api-key`."""

    def url(self, base: str, model: str, stream: bool) -> str:
        return f"{base}/openai/deployments/{model}/chat/completions?api-version={AZURE_VERSION}"

    def headers(self) -> dict[str, str]:
        return {"api-key": CLIENT_KEY}

    def body(self, model: str, stream: bool, tools: bool) -> dict[str, Any]:
        body = super().body(model, stream, tools)
        del body["model"]
        return body


class AnthropicMessages(Api):
    def url(self, base: str, model: str, stream: bool) -> str:
        return f"{base}/v1/messages"

    def headers(self) -> dict[str, str]:
        return {"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01"}

    def body(self, model: str, stream: bool, tools: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": 256,
            "messages": [{"role": "user", "content": "Hi."}],
            "stream": stream,
        }
        if tools:
            body["tools"] = [
                {"name": f["name"], "description": f.get("description"), "input_schema": schema}
                for f in (CLOCK, WEATHER)
                for schema in [f["parameters"]]
            ]
            body["tool_choice"] = {"type": "tool", "name": WEATHER["name"]}
        return body

    def text(self, answer: dict[str, Any]) -> str:
        return "".join(b["text"] for b in answer["content"] if b["type"] == "text")

    def usage(self, answer: dict[str, Any]) -> tuple[int, int]:
        return answer["usage"]["input_tokens"], answer["usage"]["output_tokens"]

    def tool_call(self, answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        assert answer["stop_reason"] == "tool_use"
        [use] = [b for b in answer["content"] if b["type"] == "tool_use"]
        return use["name"], use["input"]

    def stream_text(self, events: list[Any]) -> str:
        assert events[-1]["type"] == "message_stop"
        return "".join(
            e["delta"]["text"]
            for e in events
            if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
        )

    def stream_usage(self, events: list[Any]) -> tuple[int, int] | None:
        start = next(e for e in events if e["type"] == "message_start")
        delta = [e for e in events if e["type"] == "message_delta"][-1]
        return start["message"]["usage"]["input_tokens"], delta["usage"]["output_tokens"]

    def check_error(self, answer: httpx.Response, status: int) -> None:
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert body["type"] == "error"
        assert body["error"]["type"] == {429: "rate_limit_error", 500: "api_error"}[status]
        assert body["error"]["message"]


class GeminiApi(Api):
    def url(self, base: str, model: str, stream: bool) -> str:
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{base}/v1beta/models/{model}:{method}"

    def headers(self) -> dict[str, str]:
        return {"x-goog-api-key": CLIENT_KEY}

    def body(self, model: str, stream: bool, tools: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "Hi."}]}]}
        if tools:
            body["tools"] = [
                {
                    "functionDeclarations": [
                        {
                            "name": f["name"],
                            "description": f["description"],
                            "parametersJsonSchema": f["parameters"],
                        }
                        for f in (CLOCK, WEATHER)
                    ]
                }
            ]
            body["toolConfig"] = {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [WEATHER["name"]]}
            }
        return body

    def text(self, answer: dict[str, Any]) -> str:
        parts = answer["candidates"][0]["content"]["parts"]
        return "".join(p.get("text", "") for p in parts if not p.get("thought"))

    def usage(self, answer: dict[str, Any]) -> tuple[int, int]:
        usage = answer["usageMetadata"]
        return usage["promptTokenCount"], usage["candidatesTokenCount"]

    def tool_call(self, answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        parts = answer["candidates"][0]["content"]["parts"]
        [call] = [p["functionCall"] for p in parts if "functionCall" in p]
        return call["name"], call["args"]

    def stream_text(self, events: list[Any]) -> str:
        assert events[-1]["candidates"][0]["finishReason"] == "STOP"
        return "".join(
            p.get("text", "")
            for e in events
            for c in e.get("candidates", [])
            for p in c.get("content", {}).get("parts", [])
        )

    def stream_usage(self, events: list[Any]) -> tuple[int, int] | None:
        found = [e["usageMetadata"] for e in events if e.get("usageMetadata")]
        if not found:
            return None
        return found[-1]["promptTokenCount"], found[-1]["candidatesTokenCount"]

    def check_error(self, answer: httpx.Response, status: int) -> None:
        assert answer.status_code == status, answer.text
        error = answer.json()["error"]
        assert error["code"] == status
        assert error["status"] == {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}[status]
        assert error["message"]


class BedrockConverse(Api):
    content_type = "application/vnd.amazon.eventstream"

    def url(self, base: str, model: str, stream: bool) -> str:
        return f"{base}/model/{quote(model, safe='')}/{'converse-stream' if stream else 'converse'}"

    def headers(self) -> dict[str, str]:
        return {}  # an open proxy: the gateway signs with its own credentials

    def body(self, model: str, stream: bool, tools: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": "Hi."}]}]}
        if tools:
            body["toolConfig"] = {
                "tools": [
                    {
                        "toolSpec": {
                            "name": f["name"],
                            "description": f["description"],
                            "inputSchema": {"json": f["parameters"]},
                        }
                    }
                    for f in (CLOCK, WEATHER)
                ],
                "toolChoice": {"tool": {"name": WEATHER["name"]}},
            }
        return body

    def text(self, answer: dict[str, Any]) -> str:
        return "".join(b.get("text", "") for b in answer["output"]["message"]["content"])

    def usage(self, answer: dict[str, Any]) -> tuple[int, int]:
        return answer["usage"]["inputTokens"], answer["usage"]["outputTokens"]

    def tool_call(self, answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        assert answer["stopReason"] == "tool_use"
        content = answer["output"]["message"]["content"]
        [use] = [b["toolUse"] for b in content if "toolUse" in b]
        return use["name"], use["input"]

    def events(self, raw: bytes) -> list[Any]:
        buffer = EventStreamBuffer()
        buffer.add_data(raw)
        out: list[Any] = []
        for message in buffer:
            headers = message.headers
            assert headers[":message-type"] == "event", message.payload
            out.append({headers[":event-type"]: json.loads(message.payload)})
        return out

    def stream_text(self, events: list[Any]) -> str:
        assert [next(iter(e)) for e in events[-2:]] == ["messageStop", "metadata"]
        return "".join(
            e["contentBlockDelta"]["delta"].get("text", "")
            for e in events
            if "contentBlockDelta" in e
        )

    def stream_usage(self, events: list[Any]) -> tuple[int, int] | None:
        usage = events[-1]["metadata"]["usage"]
        return usage["inputTokens"], usage["outputTokens"]

    def check_error(self, answer: httpx.Response, status: int) -> None:
        assert answer.status_code == status, answer.text
        code = {429: "ThrottlingException", 500: "InternalServerException"}[status]
        assert answer.headers["x-amzn-errortype"].split(":")[0] == code
        assert set(answer.json()) == {"message"}


class CohereChat(Api):
    def url(self, base: str, model: str, stream: bool) -> str:
        return f"{base}/v2/chat"

    def body(self, model: str, stream: bool, tools: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": "Hi."}],
            "stream": stream,
        }
        if tools:
            # Cohere's `tool_choice` names no tool (REQUIRED or NONE): the one to call is the
            # only one sent, as the router's translation does (EXCEPTIONS).
            body["tools"] = [{"type": "function", "function": WEATHER}]
            body["tool_choice"] = "REQUIRED"
        return body

    def text(self, answer: dict[str, Any]) -> str:
        return "".join(c["text"] for c in answer["message"]["content"] if c["type"] == "text")

    def usage(self, answer: dict[str, Any]) -> tuple[int, int]:
        billed = answer["usage"]["billed_units"]
        return billed["input_tokens"], billed["output_tokens"]

    def tool_call(self, answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        assert answer["finish_reason"] == "TOOL_CALL"
        [call] = answer["message"]["tool_calls"]
        return call["function"]["name"], json.loads(call["function"]["arguments"])

    def stream_text(self, events: list[Any]) -> str:
        assert events[-1]["type"] == "message-end"
        assert events[-1]["delta"]["finish_reason"] == "COMPLETE"
        return "".join(
            e["delta"]["message"]["content"]["text"] for e in events if e["type"] == "content-delta"
        )

    def stream_usage(self, events: list[Any]) -> tuple[int, int] | None:
        billed = events[-1]["delta"]["usage"]["billed_units"]
        return billed["input_tokens"], billed["output_tokens"]

    def check_error(self, answer: httpx.Response, status: int) -> None:
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert set(body) <= {"id", "message"}  # Cohere's own errors carry an id
        assert isinstance(body["message"], str)


class OllamaChat(Api):
    content_type = "application/x-ndjson"

    def url(self, base: str, model: str, stream: bool) -> str:
        return f"{base}/api/chat"

    def headers(self) -> dict[str, str]:
        return {}

    def body(self, model: str, stream: bool, tools: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": "Hi."}],
            "stream": stream,
        }
        if tools:
            # Ollama's API has no tool choice: the model decides (EXCEPTIONS); the mock is told
            # to call the tool by its knob (`FORCED_BY_KNOB`).
            body["tools"] = [{"type": "function", "function": f} for f in (CLOCK, WEATHER)]
        return body

    def text(self, answer: dict[str, Any]) -> str:
        assert answer["done"] is True
        content: str = answer["message"]["content"]
        return content

    def usage(self, answer: dict[str, Any]) -> tuple[int, int]:
        return answer["prompt_eval_count"], answer["eval_count"]

    def tool_call(self, answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        [call] = answer["message"]["tool_calls"]
        arguments = call["function"]["arguments"]
        assert isinstance(arguments, dict)  # an object in Ollama's API, not a JSON string
        return call["function"]["name"], arguments

    def events(self, raw: bytes) -> list[Any]:
        return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]

    def stream_text(self, events: list[Any]) -> str:
        assert [e["done"] for e in events].count(True) == 1
        assert events[-1]["done"] is True
        return "".join(e["message"]["content"] for e in events if "message" in e)

    def stream_usage(self, events: list[Any]) -> tuple[int, int] | None:
        return events[-1]["prompt_eval_count"], events[-1]["eval_count"]

    def check_error(self, answer: httpx.Response, status: int) -> None:
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert set(body) == {"error"}
        assert isinstance(body["error"], str)


OPENAI_CHAT = OpenAIChat()


# --- the providers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    name: str
    model: str
    api: Api
    # The native route's prefix, before any proxy id.
    prefix: str
    # Where a chat reaches the mock (the provider's own API), and the credential it carries
    # there: (header, how its value starts).
    upstream: str
    auth: tuple[str, str]
    # Its routes: `native` (its own API), `router`, and for Ollama `native-openai` (the
    # OpenAI-compatible API an Ollama server also serves, for clients other than Ollama's).
    routes: tuple[str, ...] = ("native", "router")


KEYED = ("authorization", f"Bearer {MOCK_KEY}")
VERTEX = "/v1/projects/test-project/locations/europe-west4/publishers/google/models"


def _compat(name: str, model: str) -> Provider:
    return Provider(name, model, OPENAI_CHAT, f"/v1/{name}", "/v1/chat/completions", KEYED)


PROVIDERS = [
    _compat("openai", "gpt-4o-mini"),
    Provider(
        "anthropic",
        "claude-haiku-4-5",
        AnthropicMessages(),
        "/v1/anthropic",
        "/v1/messages",
        ("x-api-key", MOCK_KEY),
    ),
    Provider(
        "gemini",
        "gemini-2.5-flash",
        GeminiApi(),
        "/v1/gemini",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        ("x-goog-api-key", MOCK_KEY),
    ),
    # The token the gateway got from the fake Google token endpoint.
    Provider(
        "vertex",
        "gemini-2.5-flash",
        GeminiApi(),
        "/v1/vertex",
        f"{VERTEX}/gemini-2.5-flash:generateContent",
        ("authorization", "Bearer fake-token-"),
    ),
    Provider(
        "azure",
        "gpt-4o",
        AzureChat(),
        "/v1/azure",
        "/openai/deployments/gpt-4o-prod/chat/completions",
        ("api-key", MOCK_KEY),
    ),
    Provider(
        "bedrock",
        "anthropic.claude-3-haiku-20240307-v1:0",
        BedrockConverse(),
        "/v1/bedrock",
        "/model/anthropic.claude-3-haiku-20240307-v1:0/converse",
        ("authorization", f"AWS4-HMAC-SHA256 Credential={AWS_KEY}/"),
    ),
    _compat("groq", "llama-3.3-70b-versatile"),
    _compat("mistral", "mistral-small-latest"),
    _compat("xai", "grok-4"),
    _compat("openrouter", "openai/gpt-4o-mini"),
    _compat("cerebras", "llama3.1-8b"),
    Provider("cohere", "command-a-03-2025", CohereChat(), "/v1/cohere", "/v2/chat", KEYED),
    _compat("deepseek", "deepseek-chat"),
    _compat("minimax", "MiniMax-M1"),
    _compat("zhipuai", "glm-4.5"),
    _compat("perplexity", "sonar"),
    _compat("vllm", "meta-llama/Llama-3.1-8B-Instruct"),
    Provider(
        "ollama",
        "llama3.2",
        OllamaChat(),
        "/v1/ollama",
        "/v1/chat/completions",
        KEYED,
        ("native", "native-openai", "router"),
    ),
]
BY_NAME = {p.name: p for p in PROVIDERS}
CELLS = ("chat", "stream", "tool_call", "usage", "error", "redaction")

# Providers that send no usage in a stream (the catalog drops their `stream_options`): the
# gateway counts the tokens and marks the record `tokens_counted`.
COUNTED = frozenset(
    name
    for name, known in KNOWN_PROVIDERS.items()
    if known.quirks is not None and not known.quirks.stream_options
)
# (provider, route, cell) -> what that cell asserts instead, and why (the README lists them).
EXCEPTIONS = {
    ("cohere", "native", "tool_call"): "Cohere's `tool_choice` names no tool (`REQUIRED` or "
    "`NONE`): forced with the one tool sent, as the router's translation of a named choice is",
    ("ollama", "native", "tool_call"): "Ollama's API has no tool choice: the mock is told to "
    "call (its knob), and the call arrives in Ollama's shape (arguments an object)",
    **{
        (name, route, "usage"): "the catalog drops `stream_options` for it, and the mock sends "
        "no stream usage unasked: the record holds the gateway's count, marked `tokens_counted` "
        "(a non-stream answer's usage is the provider's)"
        for name in sorted(COUNTED)
        for route in BY_NAME[name].routes
    },
}
FORCED_BY_KNOB = {("ollama", "native")}


def _provider_config(mock: str, credentials_file: str) -> str:
    def compat(name: str) -> str:
        return f"  {name}: {{base_url: {mock}/v1, api_key: {MOCK_KEY}}}\n"

    names = [p.name for p in PROVIDERS if p.api is OPENAI_CHAT] + ["ollama"]
    return (
        "".join(compat(n) for n in names)
        + f"""  anthropic: {{kind: anthropic, base_url: {mock}/v1, api_key: {MOCK_KEY}}}
  gemini: {{kind: gemini, base_url: {mock}/v1beta, api_key: {MOCK_KEY}}}
  vertex:
    kind: vertex
    base_url: {mock}/v1
    project: test-project
    location: europe-west4
    credentials_file: {credentials_file}
  azure:
    kind: azure
    base_url: {mock}
    api_key: {MOCK_KEY}
    api_version: "{AZURE_VERSION}"
    deployments: {{gpt-4o: gpt-4o-prod}}
  bedrock:
    kind: bedrock
    base_url: {mock}
    region: us-east-1
    aws_access_key_id: {AWS_KEY}
    aws_secret_access_key: {AWS_SECRET}
  cohere: {{kind: cohere, base_url: {mock}, api_key: {MOCK_KEY}}}
"""
    )


@dataclass
class Gateway:
    url: str
    mock: str
    http: httpx.Client

    def seen(self) -> list[dict[str, Any]]:
        """What reached the mock since `clear` (the tests of this module run one at a time)."""
        answer = self.http.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        requests: list[dict[str, Any]] = answer.json()
        return requests

    def clear(self) -> None:
        self.http.delete(f"{self.mock}/_mock/requests").raise_for_status()

    def record(self, request_id: str) -> dict[str, Any]:
        """The interaction record of a request, once written."""
        return interaction(self.url, request_id, ADMIN)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("conformance")
    mock_port, port = free_port(), free_port()
    mock = f"http://127.0.0.1:{mock_port}"
    palisade = [sys.executable, "-m", "palisade.cli"]
    with google_token_server(tmp) as tokens:
        config = tmp / "palisade.yaml"
        config.write_text(
            f"""
server: {{host: 127.0.0.1, port: {port}}}
store: {{sqlite_path: {tmp / "palisade.db"}}}
admin: {{token: {ADMIN}}}
auto_providers: false
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
{_provider_config(mock, str(tokens.credentials_file))}
guardrails:
  secrets-redact: {{type: secrets, direction: response, action: redact}}
proxies:
  - {{name: default}}
  - {{name: Redacted, guardrails: [secrets-redact]}}
default_proxy: default
"""
        )
        with (
            start_process_server([*palisade, "mock-upstream", "--port", str(mock_port)], mock_port),
            start_process_server([*palisade, "serve", "--config", str(config)], port),
            httpx.Client(timeout=30) as http,
        ):
            yield Gateway(f"http://127.0.0.1:{port}", mock, http)


# --- one cell ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A provider reached through one route: the API the client speaks, where, which model."""

    gateway: Gateway
    provider: Provider
    route: str

    @property
    def api(self) -> Api:
        return self.provider.api if self.route == "native" else OPENAI_CHAT

    def base(self, proxy: str | None = None) -> str:
        prefix = "/v1/model-router" if self.route == "router" else self.provider.prefix
        return f"{self.gateway.url}{prefix}{f'/{proxy}' if proxy else ''}"

    @property
    def model(self) -> str:
        if self.route == "router":
            return f"{self.provider.name}:{self.provider.model}"
        return self.provider.model

    def send(
        self,
        *,
        stream: bool = False,
        tools: bool = False,
        knobs: dict[str, Any] | None = None,
        proxy: str | None = None,
    ) -> httpx.Response:
        api = self.api
        headers = api.headers()
        if knobs:
            headers["x-mock-knobs"] = json.dumps(knobs)
        return self.gateway.http.post(
            api.url(self.base(proxy), self.model, stream),
            json=api.body(self.model, stream, tools),
            headers=headers,
        )

    def ok(self, answer: httpx.Response, stream: bool) -> Any:
        assert answer.status_code == 200, answer.text
        if stream:
            assert answer.headers["content-type"].startswith(self.api.content_type)
            return self.api.events(answer.content)
        return answer.json()

    def record(self, answer: httpx.Response) -> dict[str, Any]:
        record = self.gateway.record(answer.headers["x-palisade-request-id"])
        assert record["provider"] == self.provider.name
        return record


def _chat(cell: Cell) -> None:
    cell.gateway.clear()
    answer = cell.send(knobs={"reply": TEXT})
    assert cell.api.text(cell.ok(answer, stream=False)) == TEXT
    # The provider's own API, with the gateway's credential for it (never the client's), and
    # the provider's name of the model (Azure's deployment, mapped in the config).
    [seen] = cell.gateway.seen()
    assert seen["path"] == cell.provider.upstream
    header, value = cell.provider.auth
    assert seen["headers"][header].startswith(value)
    assert CLIENT_KEY not in json.dumps(seen["headers"])
    if "model" in seen["body"]:
        assert seen["body"]["model"] == (
            "gpt-4o-prod" if cell.provider.name == "azure" else cell.provider.model
        )


def _stream(cell: Cell) -> None:
    answer = cell.send(stream=True, knobs={"reply_chunks": CHUNKS, "chunk_interval_ms": 0})
    events = cell.ok(answer, stream=True)
    assert cell.api.stream_text(events) == TEXT
    # Relayed as the provider sent it: at least one event per piece.
    assert len(events) >= len(CHUNKS)


def _tool_call(cell: Cell) -> None:
    knobs = None
    if (cell.provider.name, cell.route) in FORCED_BY_KNOB:
        knobs = {"tool_calls": [{"name": WEATHER["name"], "arguments": ARGUMENTS}]}
    answer = cell.send(tools=True, knobs=knobs)
    assert cell.api.tool_call(cell.ok(answer, stream=False)) == (WEATHER["name"], ARGUMENTS)


def _usage(cell: Cell) -> None:
    cell.gateway.clear()
    answer = cell.send(knobs={"reply": TEXT})
    usage = cell.api.usage(cell.ok(answer, stream=False))
    streamed = cell.send(stream=True, knobs={"reply": TEXT})
    events = cell.ok(streamed, stream=True)
    # Both records are written in the same batch: waited for once.
    record = cell.record(answer)
    assert (record["input_tokens"], record["output_tokens"]) == usage
    assert record["tokens_counted"] is False
    assert usage[0] > 0
    assert usage[1] > 0
    record = cell.record(streamed)
    if cell.provider.name in COUNTED:
        # No usage from the provider (not asked for: it refuses `stream_options`): the
        # gateway's count, and said so.
        assert "stream_options" not in cell.gateway.seen()[-1]["body"]
        assert record["tokens_counted"] is True
        assert record["input_tokens"] > 0
        assert record["output_tokens"] > 0
    else:
        assert record["tokens_counted"] is False
        seen = cell.api.stream_usage(events)
        assert seen is not None
        assert (record["input_tokens"], record["output_tokens"]) == seen
        assert seen[1] > 0


def _error(cell: Cell) -> None:
    answers = {status: cell.send(knobs={"fail": str(status)}) for status in (429, 500)}
    for status, answer in answers.items():
        cell.api.check_error(answer, status)
    for status, answer in answers.items():
        assert cell.record(answer)["status"] == status


def _redaction(cell: Cell) -> None:
    knobs = {"reply_chunks": [REPLY[:CUT], REPLY[CUT:]], "chunk_interval_ms": 0}
    answer = cell.send(stream=True, knobs=knobs, proxy="redacted")
    events = cell.ok(answer, stream=True)
    assert cell.api.stream_text(events) == REDACTED
    assert SECRET.encode() not in answer.content
    assert SECRET[: CUT - len(HEAD)].encode() not in answer.content
    record = cell.record(answer)
    assert "redact" in record["guardrail_actions"]
    # The record holds what the client got: the placeholder, never the secret.
    assert "[OPENAI_API_KEY_1]" in record["response_body"]
    assert SECRET not in json.dumps(record)


CHECKS = {
    "chat": _chat,
    "stream": _stream,
    "tool_call": _tool_call,
    "usage": _usage,
    "error": _error,
    "redaction": _redaction,
}


@pytest.mark.parametrize(
    ("name", "route", "cell"),
    [(p.name, route, cell) for p in PROVIDERS for route in p.routes for cell in CELLS],
)
def test_conformance(gateway: Gateway, name: str, route: str, cell: str) -> None:
    CHECKS[cell](Cell(gateway, BY_NAME[name], route))


def test_the_matrix_covers_the_issues_list() -> None:
    assert [p.name for p in PROVIDERS] == [
        "openai",
        "anthropic",
        "gemini",
        "vertex",
        "azure",
        "bedrock",
        "groq",
        "mistral",
        "xai",
        "openrouter",
        "cerebras",
        "cohere",
        "deepseek",
        "minimax",
        "zhipuai",
        "perplexity",
        "vllm",
        "ollama",
    ]
    # The catalog's quirks apply: the named OpenAI-compatible providers are known to it.
    assert {p.name for p in PROVIDERS if p.api is OPENAI_CHAT} <= set(KNOWN_PROVIDERS)
    assert {"mistral", "perplexity"} == COUNTED


# --- the README's table -----------------------------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"
MARKERS = (
    "<!-- conformance-matrix: tests/e2e/test_conformance.py -->",
    "<!-- /conformance-matrix -->",
)
# Where each provider's config example is (the README's sections).
CONFIG_DOCS = {
    "anthropic": "#anthropics-api-and-claude-code",
    "gemini": "#google-gemini-and-vertex-ai",
    "vertex": "#google-gemini-and-vertex-ai",
    "bedrock": "#aws-bedrock",
    "cohere": "#cohere",
}
CELL_TITLES = ("chat", "stream", "forced tool call", "usage", "upstream error", "split secret")


def matrix_markdown() -> str:
    """The README's table, from what this module checks: one mark per route of a provider
    (native, then router; Ollama: `/api/chat`, its OpenAI-compatible API, router), ✓ or a
    numbered note (an exception, below the table)."""
    notes: list[str] = []
    rows = [
        f"| provider | native route | {' | '.join(CELL_TITLES)} | config |",
        f"|---|---|{'---|' * len(CELL_TITLES)}---|",
    ]
    for provider in PROVIDERS:
        marks = []
        for cell in CELLS:
            found = []
            for route in provider.routes:
                note = EXCEPTIONS.get((provider.name, route, cell))
                if note is None:
                    found.append("✓")
                    continue
                if note not in notes:
                    notes.append(note)
                found.append(f"({notes.index(note) + 1})")
            marks.append(" ".join(found))
        native = [provider.api.url(provider.prefix, "MODEL", False).partition("?")[0]]
        if "native-openai" in provider.routes:
            native.append(OPENAI_CHAT.url(provider.prefix, "MODEL", False))
        paths = ", ".join(f"`{path}`" for path in native)
        config = f"[{provider.name}]({CONFIG_DOCS.get(provider.name, '#providers')})"
        rows.append(f"| {provider.name} | {paths} | {' | '.join(marks)} | {config} |")
    rows.append("")
    rows.extend(f"({i}) {note}." for i, note in enumerate(notes, 1))
    return "\n".join(rows)


def test_the_readme_shows_this_matrix() -> None:
    text = README.read_text()
    start, end = (text.index(m) for m in MARKERS)
    assert text[start + len(MARKERS[0]) : end].strip() == matrix_markdown()
