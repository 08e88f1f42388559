"""Vertex AI through a real Granian gateway: Google's models (the google-genai SDK and an OpenAI
client) and Anthropic's (the anthropic SDK and an OpenAI client) at the mock's Vertex paths,
with the OAuth token the gateway got from a fake Google token endpoint."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest
from google import genai

from tests.helpers.google_token import TokenServer, google_token_server
from tests.helpers.servers import free_port, start_process_server

ROOT = "/v1/projects/test-project/locations/europe-west4/publishers"


@dataclass
class VertexStack:
    gateway: str
    mock: str
    tokens: TokenServer

    def requests(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        seen: list[dict[str, Any]] = answer.json()
        return seen

    def clear(self) -> None:
        httpx.delete(f"{self.mock}/_mock/requests").raise_for_status()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VertexStack]:
    tmp = tmp_path_factory.mktemp("vertex")
    mock_port, gateway_port = free_port(), free_port()
    palisade = [sys.executable, "-m", "palisade.cli"]
    with google_token_server(tmp) as tokens:
        config = tmp / "palisade.yaml"
        config.write_text(
            f"""
server: {{host: 127.0.0.1, port: {gateway_port}}}
store: {{sqlite_path: {tmp / "palisade.db"}}}
auto_providers: false
providers:
  vertex:
    kind: vertex
    base_url: http://127.0.0.1:{mock_port}/v1
    project: test-project
    location: europe-west4
    credentials_file: {tokens.credentials_file}
"""
        )
        with (
            start_process_server([*palisade, "mock-upstream", "--port", str(mock_port)], mock_port),
            start_process_server([*palisade, "serve", "--config", str(config)], gateway_port),
        ):
            yield VertexStack(
                f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{mock_port}", tokens
            )


def test_gemini_on_vertex_carries_the_google_token(stack: VertexStack) -> None:
    stack.clear()
    client = genai.Client(
        api_key="client-key", http_options={"base_url": f"{stack.gateway}/v1/gemini"}
    )
    response = client.models.generate_content(model="vertex:gemini-2.5-flash", contents="hi")
    assert response.text
    chunks = list(
        client.models.generate_content_stream(model="vertex:gemini-2.5-flash", contents="hi")
    )
    assert "".join(c.text or "" for c in chunks) == response.text
    first, second = stack.requests()
    assert first["path"] == f"{ROOT}/google/models/gemini-2.5-flash:generateContent"
    assert second["path"] == f"{ROOT}/google/models/gemini-2.5-flash:streamGenerateContent"
    assert second["query"] == "alt=sse"
    assert stack.tokens.issued == ["fake-token-1"]
    for seen in (first, second):
        assert seen["headers"]["authorization"] == "Bearer fake-token-1"
        assert "x-goog-api-key" not in seen["headers"]


def test_claude_on_vertex_through_the_anthropic_sdk(stack: VertexStack) -> None:
    stack.clear()
    with anthropic.Anthropic(
        base_url=f"{stack.gateway}/v1/anthropic", api_key="client-key", max_retries=0
    ) as claude:
        message = claude.messages.create(
            model="vertex:claude-sonnet-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-mock-knobs": json.dumps({"reply": "Hi from Vertex."})},
        )
        assert message.content[0].type == "text"
        assert message.content[0].text == "Hi from Vertex."
        counted = claude.messages.count_tokens(
            model="vertex:claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}]
        )
        assert counted.input_tokens > 0
        with claude.messages.stream(
            model="vertex:claude-sonnet-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
        ) as stream:
            text = "".join(stream.text_stream)
        assert text
    first, count, second = stack.requests()
    assert first["path"] == f"{ROOT}/anthropic/models/claude-sonnet-4-5:rawPredict"
    assert second["path"] == f"{ROOT}/anthropic/models/claude-sonnet-4-5:streamRawPredict"
    assert count["path"] == f"{ROOT}/anthropic/models/count-tokens:rawPredict"
    assert count["body"]["model"] == "claude-sonnet-4-5"
    for seen in (first, second):
        assert seen["headers"]["authorization"] == "Bearer fake-token-1"
        assert seen["body"]["anthropic_version"] == "vertex-2023-10-16"
        assert "model" not in seen["body"]


def test_an_openai_client_reaches_both_publishers(stack: VertexStack) -> None:
    stack.clear()
    with openai.OpenAI(
        base_url=f"{stack.gateway}/v1", api_key="client-key", max_retries=0, timeout=20
    ) as chat:
        for model in ("vertex:gemini-2.5-pro", "vertex:claude-opus-4-1"):
            answer = chat.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-mock-knobs": json.dumps({"reply": "ok"})},
            )
            assert answer.choices[0].message.content == "ok"
    gemini, claude = stack.requests()
    assert gemini["path"] == f"{ROOT}/google/models/gemini-2.5-pro:generateContent"
    assert "contents" in gemini["body"]
    assert claude["path"] == f"{ROOT}/anthropic/models/claude-opus-4-1:rawPredict"
    assert claude["body"]["messages"] == [{"role": "user", "content": "hi"}]
