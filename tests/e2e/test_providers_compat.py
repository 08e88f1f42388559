"""OpenAI-compatible providers, routes that pin their provider, and Azure OpenAI, through a real
Granian gateway with the mock as every provider: the openai SDK on `/v1/groq/...` reaches the
provider named `groq` and no other; a provider with quirks gets a body without the fields it
refuses and its stream is counted by the gateway; `openai.AzureOpenAI` works unchanged against
the gateway's Azure route; a `kind: azure` provider is called at its deployment URL."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2 as httpx
import ollama
import openai
import pytest

from tests.helpers.records import interaction
from tests.helpers.servers import free_port, start_process_server

MOCK_KEY = "compat-mock-key"
CLIENT_KEY = "compat-client-key"
ADMIN = "compat-admin-token-" + "Qx7" * 5
# Built at run time so that no secret scanner flags this file.
SECRET = "sk-proj-" + "Q7vX2mK9pL4wR8tY1nB5cJ3hF6dS0aZe" + "T3BlbkFJ" + "uV8kN2qW5xM1rP9s"
HEAD = "The key is "
REPLY = f"{HEAD}{SECRET} - keep it."
REDACTED = f"{HEAD}[OPENAI_API_KEY_1] - keep it."


def _split_secret(cut: int) -> dict[str, Any]:
    at = len(HEAD) + cut
    return {"reply_chunks": [REPLY[:at], REPLY[at:]], "chunk_interval_ms": 0}


@dataclass
class Compat:
    url: str
    mock: str

    def client(self, prefix: str) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.url}{prefix}", api_key=CLIENT_KEY, max_retries=0, timeout=20
        )

    def azure(self) -> openai.AzureOpenAI:
        return openai.AzureOpenAI(
            azure_endpoint=f"{self.url}/v1/azure",
            api_key=CLIENT_KEY,
            api_version="2024-10-21",
            max_retries=0,
            timeout=20,
        )

    def seen(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        requests: list[dict[str, Any]] = answer.json()
        return requests

    def clear(self) -> None:
        httpx.delete(f"{self.mock}/_mock/requests").raise_for_status()

    def record(self, request_id: str) -> dict[str, Any]:
        """The interaction record of a request, once written."""
        return interaction(self.url, request_id, ADMIN)


@pytest.fixture(scope="module")
def compat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compat]:
    tmp = tmp_path_factory.mktemp("compat")
    mock_port, port = free_port(), free_port()
    mock = f"http://127.0.0.1:{mock_port}"
    config = tmp / "palisade.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}}}
store: {{sqlite_path: {tmp / "compat.db"}}}
admin: {{token: {ADMIN}}}
auto_providers: false
providers:
  mock:
    base_url: {mock}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*"]
  # Known names: their catalog quirks apply, their URL is the mock's here.
  groq:
    base_url: {mock}/v1
    api_key: {MOCK_KEY}
  perplexity:
    base_url: {mock}/v1
    api_key: {MOCK_KEY}
  # A provider named `openai`: `/v1/openai/...` reaches it and no other.
  openai:
    base_url: {mock}/v1
    api_key: {MOCK_KEY}
  az:
    kind: azure
    base_url: {mock}
    api_key: {MOCK_KEY}
    api_version: "2024-10-21"
    deployments: {{azure-gpt-4o: gpt-4o-prod}}
  mock-anthropic:
    kind: anthropic
    base_url: {mock}/v1
    api_key: {MOCK_KEY}
    models: ["claude-*"]
guardrails:
  secrets-redact: {{type: secrets, direction: response, action: redact}}
proxies:
  - {{name: default}}
  - {{name: Redacted, guardrails: [secrets-redact]}}
default_proxy: default
"""
    )
    palisade = [sys.executable, "-m", "palisade.cli"]
    mock_argv = [*palisade, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        start_process_server(mock_argv, mock_port),
        start_process_server([*palisade, "serve", "--config", str(config)], port),
    ):
        yield Compat(f"http://127.0.0.1:{port}", mock)


def _user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def _knobs(reply: str) -> dict[str, str]:
    return {"x-mock-knobs": json.dumps({"reply": reply})}


# --- routes that pin their provider ---------------------------------------------------------


def test_a_provider_route_reaches_that_provider_whatever_the_model(compat: Compat) -> None:
    compat.clear()
    with compat.client("/v1/groq") as client:
        # `mock-*` is the `mock` provider's pattern: on /v1/groq it still goes to groq.
        raw = client.chat.completions.with_raw_response.create(
            model="mock-llama", messages=_user("Hi."), extra_headers=_knobs("From groq.")
        )
    answer = raw.parse()
    assert answer.choices[0].message.content == "From groq."
    record = compat.record(raw.headers["x-palisade-request-id"])
    assert (record["provider"], record["served_model"]) == ("groq", "mock-llama")
    [seen] = compat.seen()
    assert seen["body"]["model"] == "mock-llama"
    # The same model unpinned goes where the router sends it.
    with compat.client("/v1") as client:
        raw = client.chat.completions.with_raw_response.create(
            model="mock-llama", messages=_user("Hi.")
        )
    assert compat.record(raw.headers["x-palisade-request-id"])["provider"] == "mock"


def test_a_provider_route_refuses_a_model_of_another_provider(compat: Compat) -> None:
    compat.clear()
    with compat.client("/v1/groq") as client, pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="mock:gpt-4o", messages=_user("Hi."))
    assert info.value.code == "provider_mismatch"
    assert "groq" in info.value.message
    assert compat.seen() == []  # nothing left the gateway


def test_a_route_for_a_provider_that_is_not_configured_is_404(compat: Compat) -> None:
    compat.clear()
    with compat.client("/v1/xai") as client, pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="grok-4", messages=_user("Hi."))
    assert "no route" in info.value.message
    assert compat.seen() == []


def test_an_anthropic_providers_prefix_speaks_its_own_api_pinned(compat: Compat) -> None:
    compat.clear()
    with anthropic.Anthropic(
        base_url=f"{compat.url}/v1/mock-anthropic", api_key=CLIENT_KEY, max_retries=0
    ) as client:
        # `mock-*` names the `mock` provider elsewhere; here it reaches mock-anthropic.
        message = client.messages.create(
            model="mock-claude",
            max_tokens=32,
            messages=[{"role": "user", "content": "Hi."}],
            extra_headers=_knobs("Native and pinned."),
        )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Native and pinned."
    [seen] = compat.seen()
    assert seen["path"] == "/v1/messages"
    # Its OpenAI routes too, translated.
    with compat.client("/v1/mock-anthropic") as openai_client:
        answer = openai_client.chat.completions.create(
            model="mock-claude", messages=_user("Hi."), extra_headers=_knobs("Translated.")
        )
    assert answer.choices[0].message.content == "Translated."


def test_the_openai_route_pins_the_provider_named_openai(compat: Compat) -> None:
    with compat.client("/v1/openai") as client:
        raw = client.chat.completions.with_raw_response.create(
            model="mock-gpt", messages=_user("Hi.")
        )
        # The old way round the pin: a `groq:` model on /v1/openai.
        with pytest.raises(openai.BadRequestError) as info:
            client.chat.completions.create(model="groq:llama", messages=_user("Hi."))
    assert compat.record(raw.headers["x-palisade-request-id"])["provider"] == "openai"
    assert info.value.code == "provider_mismatch"


def test_a_pinned_stream_with_a_proxy_id_in_the_path(compat: Compat) -> None:
    with compat.client("/v1/groq/default") as client:
        chunks = list(
            client.chat.completions.create(
                model="llama-3.3-70b",
                messages=_user("Stream."),
                stream=True,
                stream_options={"include_usage": True},
                extra_headers=_knobs("One two three."),
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "One two three."
    assert [c.usage for c in chunks if c.usage is not None]


# --- quirks ---------------------------------------------------------------------------------


def test_refused_fields_are_dropped_and_said_so(compat: Compat) -> None:
    compat.clear()
    with compat.client("/v1/groq") as client:
        raw = client.chat.completions.with_raw_response.create(
            model="llama-3.3-70b", messages=_user("Hi."), logprobs=True, top_logprobs=2
        )
    [seen] = compat.seen()
    assert "logprobs" not in seen["body"]
    assert "top_logprobs" not in seen["body"]
    assert "logprobs: dropped" in raw.headers["x-palisade-dropped-params"]
    record = compat.record(raw.headers["x-palisade-request-id"])
    assert any("top_logprobs" in note for note in record["translation"]["notes"])


def test_more_choices_than_the_provider_makes_are_refused(compat: Compat) -> None:
    compat.clear()
    with compat.client("/v1/groq") as client, pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="llama", messages=_user("Hi."), n=2)
    assert info.value.param == "n"
    assert compat.seen() == []


def test_a_provider_without_stream_options_is_counted_by_the_gateway(compat: Compat) -> None:
    compat.clear()
    with compat.client("/v1/perplexity") as client:
        raw = client.chat.completions.with_raw_response.create(
            model="sonar",
            messages=_user("Stream."),
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=_knobs("Counted by the gateway."),
        )
        chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Counted by the gateway."
    [seen] = compat.seen()
    assert "stream_options" not in seen["body"]
    record = compat.record(raw.headers["x-palisade-request-id"])
    assert record["provider"] == "perplexity"
    assert record["tokens_counted"] is True
    assert record["output_tokens"] > 0
    assert record["input_tokens"] > 0


# --- Azure ----------------------------------------------------------------------------------


def test_the_azure_sdk_through_the_gateways_azure_route(compat: Compat) -> None:
    compat.clear()
    with compat.azure() as client:
        answer = client.chat.completions.create(
            model="mock-gpt", messages=_user("Hi."), extra_headers=_knobs("Hello, Azure.")
        )
        chunks = list(
            client.chat.completions.create(
                model="mock-gpt",
                messages=_user("Stream."),
                stream=True,
                extra_headers=_knobs("Streamed via Azure."),
            )
        )
        embedding = client.embeddings.create(model="mock-embed", input="hello")
    assert answer.choices[0].message.content == "Hello, Azure."
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Streamed via Azure."
    )
    assert len(embedding.data[0].embedding) > 0
    seen = compat.seen()
    assert [s["path"] for s in seen] == ["/v1/chat/completions"] * 2 + ["/v1/embeddings"]
    # The client's api-key is its credential at the gateway; the provider gets the gateway's.
    assert all(s["headers"]["authorization"] == f"Bearer {MOCK_KEY}" for s in seen)
    assert all("api-key" not in s["headers"] for s in seen)


def test_the_azure_sdk_reaches_an_anthropic_provider_by_translation(compat: Compat) -> None:
    compat.clear()
    with compat.azure() as client:
        answer = client.chat.completions.create(
            model="claude-haiku-4-5", messages=_user("Hi."), extra_headers=_knobs("Hi, Claude.")
        )
    assert answer.choices[0].message.content == "Hi, Claude."
    [seen] = compat.seen()
    assert seen["path"] == "/v1/messages"
    assert seen["body"]["model"] == "claude-haiku-4-5"


def test_an_azure_provider_is_called_at_its_deployment_url(compat: Compat) -> None:
    compat.clear()
    with compat.client("/v1") as client:
        answer = client.chat.completions.create(
            model="azure-gpt-4o", messages=_user("Hi."), extra_headers=_knobs("From Azure.")
        )
        chunks = list(
            client.chat.completions.create(
                model="az:other-deployment",
                messages=_user("Stream."),
                stream=True,
                stream_options={"include_usage": True},
                extra_headers=_knobs("Streamed from Azure."),
            )
        )
    assert answer.choices[0].message.content == "From Azure."
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Streamed from Azure."
    )
    assert [c.usage for c in chunks if c.usage is not None]
    first, second = compat.seen()
    assert first["path"] == "/openai/deployments/gpt-4o-prod/chat/completions"
    assert first["query"] == "api-version=2024-10-21"
    assert first["headers"]["api-key"] == MOCK_KEY
    assert "authorization" not in first["headers"]
    assert first["body"]["model"] == "gpt-4o-prod"
    assert second["path"] == "/openai/deployments/other-deployment/chat/completions"


def test_an_azure_error_reaches_the_client_in_its_dialect(compat: Compat) -> None:
    with compat.client("/v1") as client, pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="azure-gpt-4o",
            messages=_user("Hi."),
            extra_headers={"x-mock-knobs": json.dumps({"fail": "500"})},
        )


# --- listings -------------------------------------------------------------------------------


def test_the_model_router_lists_every_providers_models_by_provider(compat: Compat) -> None:
    with compat.client("/v1/model-router") as client:
        models = list(client.models.list())
    ids = {m.id for m in models}
    owners = {m.id: m.owned_by for m in models}
    # Listed by the providers themselves (the mock's listing) ...
    assert any(i.startswith("groq:") for i in ids)
    assert any(i.startswith("mock-anthropic:claude") for i in ids)
    # ... or, for a kind without one (Azure), from the configured names.
    assert "az:azure-gpt-4o" in ids
    assert owners["az:azure-gpt-4o"] == "az"
    assert all(owners[i] == i.partition(":")[0] for i in ids)


def test_a_provider_route_lists_that_providers_models(compat: Compat) -> None:
    with compat.client("/v1/groq") as client:
        groq = {m.id for m in client.models.list()}
    with compat.client("/v1/az") as client:
        azure = {m.id for m in client.models.list()}
    assert groq
    assert not any(":" in i for i in groq)
    assert azure == {"azure-gpt-4o"}


def test_a_pinned_model_retrieval_never_asks_another_provider(compat: Compat) -> None:
    compat.clear()
    with compat.client("/v1/groq") as client:
        model = client.models.retrieve("mock-gpt")
    assert model.id == "mock-gpt"
    assert [s["path"] for s in compat.seen()] == ["/v1/models/mock-gpt"]


# --- Ollama's native API ----------------------------------------------------------------------


def _ollama(compat: Compat, knobs: dict[str, Any]) -> ollama.Client:
    return ollama.Client(
        host=f"{compat.url}/v1/ollama", headers={"x-mock-knobs": json.dumps(knobs)}, timeout=20
    )


def test_the_ollama_sdk_chats_through_the_gateway(compat: Compat) -> None:
    compat.clear()
    client = _ollama(compat, {"reply": "Hello from the mock."})
    answer = client.chat(
        model="mock-llama",
        messages=[{"role": "user", "content": "Hi."}],
        stream=False,
        options={"temperature": 0.1, "num_ctx": 4096},
    )
    assert answer.message.content == "Hello from the mock."
    assert answer.done
    assert answer.prompt_eval_count
    assert answer.eval_count
    [seen] = compat.seen()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["body"]["temperature"] == 0.1
    assert "num_ctx" not in seen["body"]


def test_the_ollama_sdk_streams_ndjson_with_its_counts(compat: Compat) -> None:
    client = _ollama(compat, {"reply": "One two three four."})
    parts = list(
        client.chat(
            model="mock-llama", messages=[{"role": "user", "content": "Stream."}], stream=True
        )
    )
    assert "".join(p.message.content or "" for p in parts) == "One two three four."
    assert [p.done for p in parts].count(True) == 1
    assert parts[-1].done
    assert parts[-1].eval_count
    raw = httpx.post(
        f"{compat.url}/v1/ollama/api/chat",
        json={"model": "mock-llama", "messages": [{"role": "user", "content": "Hi."}]},
    )
    assert raw.headers["content-type"] == "application/x-ndjson"
    assert json.loads(raw.text.splitlines()[-1])["done"] is True


def test_the_ollama_sdk_gets_tool_calls_with_object_arguments(compat: Compat) -> None:
    calls = [{"name": "get_weather", "arguments": json.dumps({"city": "Oslo"})}]
    client = _ollama(compat, {"tool_calls": calls})
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    for stream in (False, True):
        if stream:
            parts = list(
                client.chat(
                    model="mock-llama",
                    messages=[{"role": "user", "content": "Weather?"}],
                    tools=tools,
                    stream=True,
                )
            )
            found = [c for p in parts for c in (p.message.tool_calls or [])]
        else:
            answer = client.chat(
                model="mock-llama", messages=[{"role": "user", "content": "Weather?"}], tools=tools
            )
            found = list(answer.message.tool_calls or [])
        assert [(c.function.name, dict(c.function.arguments)) for c in found] == [
            ("get_weather", {"city": "Oslo"})
        ]


def test_an_upstream_error_reaches_the_ollama_sdk_as_its_error(compat: Compat) -> None:
    client = _ollama(compat, {"fail": "500"})
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="mock-llama", messages=[{"role": "user", "content": "Hi."}], stream=False)
    assert info.value.status_code == 500
    # A gateway-made error, in Ollama's `{"error": ...}`: the SDK shows its message.
    with pytest.raises(ollama.ResponseError) as refused:
        _ollama(compat, {}).chat(
            model="no-such-model", messages=[{"role": "user", "content": "Hi."}], stream=False
        )
    assert refused.value.status_code == 404
    assert refused.value.error.startswith("Palisade: the model `no-such-model`")


# --- guardrails on every route of this file: a secret split across stream events ------------


@pytest.mark.parametrize("cut", [1, 9, 30])
def test_a_secret_split_across_a_pinned_stream_is_redacted(compat: Compat, cut: int) -> None:
    with compat.client("/v1/groq/redacted") as client:
        stream = client.chat.completions.create(
            model="llama-3.3-70b",
            messages=_user("Key?"),
            stream=True,
            extra_headers={"x-mock-knobs": json.dumps(_split_secret(cut))},
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == REDACTED


@pytest.mark.parametrize("cut", [1, 9, 30])
def test_a_secret_split_across_an_azure_stream_is_redacted(compat: Compat, cut: int) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=f"{compat.url}/v1/azure/redacted",
        api_key=CLIENT_KEY,
        api_version="2024-10-21",
        max_retries=0,
    ) as client:
        stream = client.chat.completions.create(
            model="azure-gpt-4o",
            messages=_user("Key?"),
            stream=True,
            extra_headers={"x-mock-knobs": json.dumps(_split_secret(cut))},
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == REDACTED


@pytest.mark.parametrize("cut", [1, 9, 30])
def test_a_secret_split_across_an_ollama_stream_is_redacted(compat: Compat, cut: int) -> None:
    client = ollama.Client(
        host=f"{compat.url}/v1/ollama/redacted",
        headers={"x-mock-knobs": json.dumps(_split_secret(cut))},
        timeout=20,
    )
    parts = list(
        client.chat(model="mock-llama", messages=[{"role": "user", "content": "Key?"}], stream=True)
    )
    assert "".join(p.message.content or "" for p in parts) == REDACTED
    assert parts[-1].done


def test_an_azure_providers_prefix_serves_azures_api_pinned(compat: Compat) -> None:
    compat.clear()
    with openai.AzureOpenAI(
        azure_endpoint=f"{compat.url}/v1/az",
        api_key=CLIENT_KEY,
        api_version="2024-10-21",
        max_retries=0,
    ) as client:
        # `mock-*` is the `mock` provider's pattern: on /v1/az it is a deployment of `az`.
        answer = client.chat.completions.create(
            model="mock-deployment", messages=_user("Hi."), extra_headers=_knobs("Pinned.")
        )
    assert answer.choices[0].message.content == "Pinned."
    [seen] = compat.seen()
    assert seen["path"] == "/openai/deployments/mock-deployment/chat/completions"
    assert seen["headers"]["api-key"] == MOCK_KEY
