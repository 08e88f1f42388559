"""The mock's Gemini side, driven by the google-genai SDK and raw HTTP: answers, streams, function
calling and its rounds, failures in Google's format, the key, and Vertex AI's paths."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.helpers.servers import RunningServer

MODEL = "gemini-2.5-flash"
VERTEX = "/v1/projects/p/locations/us-central1/publishers"
HI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def client(server: RunningServer, key: str = "any", **headers: str) -> genai.Client:
    options: Any = {"base_url": server.url, "api_version": "v1beta", "headers": headers}
    return genai.Client(api_key=key, http_options=options)


def knobs(**values: Any) -> dict[str, str]:
    return {"x-mock-knobs": json.dumps(values)}


def test_generate_stream_and_count(mock_server: RunningServer) -> None:
    c = client(mock_server, **knobs(reply_chunks=["a ", "b"]))
    assert c.models.generate_content(model=MODEL, contents="hi").text == "a b"
    chunks = list(c.models.generate_content_stream(model=MODEL, contents="hi"))
    assert [chunk.text for chunk in chunks] == ["a ", "b"]
    last = chunks[-1]
    assert last.usage_metadata is not None
    assert last.usage_metadata.candidates_token_count == 2
    assert chunks[0].usage_metadata is not None
    assert not chunks[0].usage_metadata.candidates_token_count  # the total so far
    assert c.models.count_tokens(model=MODEL, contents="hi there").total_tokens


def test_function_calls_when_forced_then_text_after_the_rounds(mock_server: RunningServer) -> None:
    calls = [{"name": "lookup", "arguments": {"q": "x"}}]
    c = client(mock_server, **knobs(tool_calls=calls, tool_rounds=1))
    first = c.models.generate_content(model=MODEL, contents="hi")
    assert first.function_calls is not None
    assert first.function_calls[0].name == "lookup"
    assert first.candidates is not None
    assert first.candidates[0].content is not None
    history = [
        types.Content(role="user", parts=[types.Part(text="hi")]),
        first.candidates[0].content,
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="lookup", response={"r": 1})],
        ),
    ]
    second = c.models.generate_content(model=MODEL, contents=history)
    assert not second.function_calls
    assert second.text


def test_thoughts_and_cached_tokens(mock_server: RunningServer) -> None:
    answer = httpx.post(
        f"{mock_server.url}/v1beta/models/{MODEL}:generateContent",
        json={
            **HI,
            "cachedContent": "cachedContents/abc",
            "generationConfig": {
                "thinkingConfig": {"thinkingBudget": 512, "includeThoughts": True}
            },
        },
        headers={"x-goog-api-key": "k"},
    ).json()
    parts = answer["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True
    meta = answer["usageMetadata"]
    assert meta["thoughtsTokenCount"] > 0
    assert meta["cachedContentTokenCount"] == meta["promptTokenCount"] // 2


@pytest.mark.parametrize(
    ("fail", "code", "status"), [("429", 429, "RESOURCE_EXHAUSTED"), ("503", 503, "UNAVAILABLE")]
)
def test_failures_in_google_s_format(
    mock_server: RunningServer, fail: str, code: int, status: str
) -> None:
    c = client(mock_server, **knobs(fail=fail))
    with pytest.raises(genai_errors.APIError) as caught:
        c.models.generate_content(model=MODEL, contents="hi")
    assert (caught.value.code, caught.value.status) == (code, status)


def test_an_error_mid_stream(mock_server: RunningServer) -> None:
    c = client(mock_server, **knobs(fail="stream_error", fail_after_chunks=1, chunks=3))
    stream = c.models.generate_content_stream(model=MODEL, contents="hi")
    assert next(stream).text
    with pytest.raises(genai_errors.APIError) as caught:
        next(stream)
    assert caught.value.code == 500


def test_bad_requests_and_the_key(keyed_mock: RunningServer) -> None:
    url = f"{keyed_mock.url}/v1beta/models/{MODEL}:generateContent"
    assert httpx.post(url, json=HI).status_code == 403
    wrong = httpx.post(url, json=HI, headers={"x-goog-api-key": "sk-wrong"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert httpx.post(f"{url}?key=sk-right", json=HI).status_code == 200
    empty = httpx.post(url, json={"contents": []}, headers={"x-goog-api-key": "sk-right"})
    assert empty.status_code == 400
    assert "contents" in empty.json()["error"]["message"]


def test_vertex_paths(mock_server: RunningServer) -> None:
    google = f"{mock_server.url}{VERTEX}/google/models/{MODEL}:generateContent"
    assert httpx.post(google, json=HI).status_code == 401  # Vertex wants a token
    bearer = {"authorization": "Bearer t"}
    assert httpx.post(google, json=HI, headers=bearer).json()["candidates"]
    claude = f"{mock_server.url}{VERTEX}/anthropic/models/claude-sonnet-4-5:rawPredict"
    body = {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    refused = httpx.post(claude, json=body, headers=bearer)
    assert refused.status_code == 400  # no anthropic_version
    answer = httpx.post(
        claude, json={**body, "anthropic_version": "vertex-2023-10-16"}, headers=bearer
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == "claude-sonnet-4-5"
