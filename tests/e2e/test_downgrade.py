"""Model downgrade through a real Granian gateway and the mock provider, driven by the official
SDKs: a simple request goes to the cheaper model, anything else to the one asked for; the
record says which and why, and the answer names the model that served it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from tests.helpers.records import interaction
from tests.helpers.servers import free_port, start_process_server

MOCK_KEY = "mock-provider-key"
ADMIN = "downgrade-admin-token"
HEADER = "x-palisade-downgraded-from"

SHORT = "What is the capital of France?"
# Plain prose, but far over the rules' 200 tokens.
LONG = "Please summarize the following notes for me. " + (
    "The team met on Monday, agreed on the schedule and went back to work. " * 40
)
# Short, but a multi-part task: the complexity score is over the bound.
COMPLEX = (
    "Implement an LRU cache in Python with O(1) get and put. Requirements:\n"
    "1. Entries expire after a TTL.\n2. It is thread-safe.\n3. It reports hit rates.\n"
    "Then analyze the time complexity, prove that eviction is correct and compare the "
    "design with a skip list. What are the edge cases?"
)
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}

CONFIG = """
server: {{host: 127.0.0.1, port: {port}}}
store: {{sqlite_path: {db}}}
admin: {{token: {admin}}}
auto_providers: false
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {key}
    models: ["gpt-*"]
  mock-anthropic:
    kind: anthropic
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {key}
    models: ["claude-*"]
proxies:
  - {{name: default}}
  - name: thrifty
    downgrade:
      - {{from: gpt-4o, to: gpt-4o-nano, max_prompt_tokens: 3, max_complexity: 0.35}}
      - {{from: gpt-4o, to: gpt-4o-mini, max_prompt_tokens: 200, max_complexity: 0.35}}
      - {{from: "claude-sonnet-*", to: claude-haiku-4-5, max_prompt_tokens: 200,
          max_complexity: 0.35}}
  - name: crossover
    downgrade:
      - {{from: gpt-4.1, to: "mock-anthropic:claude-haiku-4-5", max_prompt_tokens: 200,
          max_complexity: 0.35}}
  - name: strict
    models: [gpt-4o]
    downgrade:
      - {{from: gpt-4o, to: gpt-4o-mini, max_prompt_tokens: 200, max_complexity: 0.35}}
default_proxy: default
"""


@dataclass
class Stack:
    url: str
    mock: str

    def openai(self, proxy: str) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.url}/v1/openai/{proxy}", api_key="client", max_retries=0, timeout=20
        )

    def anthropic(self, proxy: str) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=f"{self.url}/v1/anthropic/{proxy}", api_key="client", max_retries=0
        )

    def received(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        requests: list[dict[str, Any]] = answer.json()
        return requests

    def last_model(self) -> str:
        """The model named in the last request the mock received (cleared by `clear`)."""
        requests = self.received()
        assert len(requests) == 1, requests
        model: str = requests[0]["body"]["model"]
        return model

    def clear(self) -> None:
        httpx.delete(f"{self.mock}/_mock/requests").raise_for_status()

    def record(self, request_id: str) -> dict[str, Any]:
        """The interaction record of a request, once written."""
        return interaction(self.url, request_id, ADMIN)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("downgrade")
    mock_port, port = free_port(), free_port()
    config = tmp / "palisade.yaml"
    config.write_text(
        CONFIG.format(port=port, mock_port=mock_port, db=tmp / "dg.db", admin=ADMIN, key=MOCK_KEY)
    )
    palisade = [sys.executable, "-m", "palisade.cli"]
    mock_argv = [*palisade, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        start_process_server(mock_argv, mock_port),
        start_process_server([*palisade, "serve", "--config", str(config)], port),
    ):
        yield Stack(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{mock_port}")


def chat(stack: Stack, proxy: str, text: str, **kwargs: Any) -> Any:
    stack.clear()
    with stack.openai(proxy) as client:
        return client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": text}], **kwargs
        )


def test_a_short_prompt_goes_to_the_cheaper_model_and_is_recorded(stack: Stack) -> None:
    raw = chat(stack, "thrifty", SHORT)
    assert stack.last_model() == "gpt-4o-mini"
    assert raw.headers[HEADER] == "gpt-4o"
    # The provider's answer names the model that served it: that is what the client sees.
    assert raw.parse().model.startswith("gpt-4o-mini")
    record = stack.record(raw.headers["x-palisade-request-id"])
    assert record["model"] == "gpt-4o-mini"
    assert record["served_model"] == "gpt-4o-mini"
    assert record["downgraded_from"] == "gpt-4o"
    # The first rule's 3-token bound did not hold (7 tokens); the second rule's did.
    assert record["downgrade_reason"].startswith("simple: ")
    assert record["downgrade_reason"] == "simple: 7 tokens <= 200, complexity 0.00 <= 0.35"


def test_the_first_rule_that_holds_wins(stack: Stack) -> None:
    raw = chat(stack, "thrifty", "Hi!")
    assert stack.last_model() == "gpt-4o-nano"
    record = stack.record(raw.headers["x-palisade-request-id"])
    assert record["downgraded_from"] == "gpt-4o"
    assert record["downgrade_reason"].startswith("simple: 2 tokens <= 3,")


@pytest.mark.parametrize("text", [LONG, COMPLEX], ids=["long", "complex"])
def test_a_long_or_complex_prompt_goes_to_the_requested_model(stack: Stack, text: str) -> None:
    raw = chat(stack, "thrifty", text)
    assert stack.last_model() == "gpt-4o"
    assert HEADER not in raw.headers
    assert raw.parse().model.startswith("gpt-4o")
    assert not raw.parse().model.startswith("gpt-4o-mini")
    record = stack.record(raw.headers["x-palisade-request-id"])
    assert record["model"] == "gpt-4o"
    assert record["downgraded_from"] is None
    assert record["downgrade_reason"] is None


def test_a_request_that_offers_tools_is_not_downgraded(stack: Stack) -> None:
    raw = chat(stack, "thrifty", SHORT, tools=[WEATHER_TOOL])
    assert stack.last_model() == "gpt-4o"
    assert HEADER not in raw.headers
    assert stack.record(raw.headers["x-palisade-request-id"])["downgraded_from"] is None


def test_an_image_is_not_downgraded(stack: Stack) -> None:
    stack.clear()
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": SHORT}, image]}]
    with stack.openai("thrifty") as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages)
    assert stack.last_model() == "gpt-4o"
    assert HEADER not in raw.headers


def test_a_stream_is_downgraded_too(stack: Stack) -> None:
    stack.clear()
    with (
        stack.openai("thrifty") as client,
        client.chat.completions.with_streaming_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": SHORT}], stream=True
        ) as response,
    ):
        assert response.headers[HEADER] == "gpt-4o"
        models = {chunk.model for chunk in response.parse()}
    assert stack.last_model() == "gpt-4o-mini"
    assert models
    assert all(m.startswith("gpt-4o-mini") for m in models)


def test_a_proxy_without_rules_sends_what_was_asked(stack: Stack) -> None:
    raw = chat(stack, "default", SHORT)
    assert stack.last_model() == "gpt-4o"
    assert HEADER not in raw.headers


def test_authorization_judges_the_model_actually_used(stack: Stack) -> None:
    # `strict` allows gpt-4o only: its own rule would send a simple request to gpt-4o-mini,
    # which the proxy may not use.
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(stack, "strict", SHORT)
    assert "gpt-4o-mini" in caught.value.message
    assert stack.received() == []
    assert chat(stack, "strict", LONG).parse().model.startswith("gpt-4o")


def test_an_anthropic_client_is_downgraded_in_its_own_dialect(stack: Stack) -> None:
    stack.clear()
    with stack.anthropic("thrifty") as client:
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=[{"role": "user", "content": SHORT}],
        )
    message = raw.parse()
    assert stack.last_model() == "claude-haiku-4-5"
    assert stack.received()[0]["path"] == "/v1/messages"
    assert raw.headers[HEADER] == "claude-sonnet-4-6"
    assert message.model == "claude-haiku-4-5"
    record = stack.record(raw.headers["x-palisade-request-id"])
    assert record["provider"] == "mock-anthropic"
    assert record["model"] == "claude-haiku-4-5"
    assert record["downgraded_from"] == "claude-sonnet-4-6"
    assert record["downgrade_reason"].startswith("simple: ")

    stack.clear()
    with stack.anthropic("thrifty") as client:
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=[{"role": "user", "content": COMPLEX}],
        )
    assert stack.last_model() == "claude-sonnet-4-6"
    assert HEADER not in raw.headers


def test_the_cheaper_model_may_speak_another_dialect(stack: Stack) -> None:
    stack.clear()
    with stack.openai("crossover") as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4.1", messages=[{"role": "user", "content": SHORT}]
        )
    [request] = stack.received()
    assert request["path"] == "/v1/messages"
    assert request["body"]["model"] == "claude-haiku-4-5"
    assert raw.headers[HEADER] == "gpt-4.1"
    assert raw.headers["x-palisade-translated"] == "anthropic:messages"
    assert raw.parse().model == "claude-haiku-4-5"
    record = stack.record(raw.headers["x-palisade-request-id"])
    assert (record["provider"], record["downgraded_from"]) == ("mock-anthropic", "gpt-4.1")


def test_rules_come_from_the_admin_api_too(stack: Stack) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    rule = {"from": "gpt-4o", "to": "gpt-4o-mini", "max_prompt_tokens": 50, "max_complexity": 0.2}
    created = httpx.post(
        f"{stack.url}/admin/v1/proxies",
        json={"name": "Thrifty API", "downgrade": [rule]},
        headers=admin,
    )
    assert created.status_code in (200, 201), created.text
    pid = created.json()["id"]
    stored = httpx.get(f"{stack.url}/admin/v1/proxies/{pid}", headers=admin).json()
    assert stored["downgrade"] == [{**rule, "from": ["gpt-4o"]}]
    raw = chat(stack, pid, SHORT)
    assert stack.last_model() == "gpt-4o-mini"
    assert raw.headers[HEADER] == "gpt-4o"

    bad = {**rule, "max_complexity": 2}
    refused = httpx.put(
        f"{stack.url}/admin/v1/proxies/{pid}",
        json={"name": "Thrifty API", "downgrade": [bad]},
        headers=admin,
    )
    assert refused.status_code == 400, refused.text
    assert "downgrade[0].max_complexity" in refused.text
