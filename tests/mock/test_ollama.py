"""The mock's Ollama side (`/api/chat`), driven by the official `ollama` client: whole answers,
NDJSON streams with their counts, tool calls with object arguments."""

from __future__ import annotations

import json

import httpx2 as httpx
import ollama

from tests.helpers.servers import RunningServer


def _client(server: RunningServer, **knobs: object) -> ollama.Client:
    headers = {"x-mock-knobs": json.dumps(knobs)} if knobs else {}
    return ollama.Client(host=server.url, headers=headers, timeout=10)


def test_a_whole_answer(mock_server: RunningServer) -> None:
    answer = _client(mock_server, reply="Hello.").chat(
        model="llama3", messages=[{"role": "user", "content": "Hi."}], stream=False
    )
    assert answer.message.content == "Hello."
    assert answer.done
    assert answer.done_reason == "stop"
    assert answer.prompt_eval_count
    assert answer.eval_count


def test_a_stream_of_lines_ending_with_the_counts(mock_server: RunningServer) -> None:
    parts = list(
        _client(mock_server, reply_chunks=["One ", "two."], reply="One two.").chat(
            model="llama3", messages=[{"role": "user", "content": "Hi."}], stream=True
        )
    )
    assert [p.message.content for p in parts] == ["One ", "two.", ""]
    assert [p.done for p in parts] == [False, False, True]
    assert parts[-1].eval_count
    raw = httpx.post(
        f"{mock_server.url}/api/chat",
        json={"model": "m", "messages": [{"role": "user", "content": "Hi."}]},
    )
    assert raw.headers["content-type"] == "application/x-ndjson"


def test_tool_calls_with_object_arguments(mock_server: RunningServer) -> None:
    calls = [{"name": "get_weather", "arguments": json.dumps({"city": "Oslo"})}]
    answer = _client(mock_server, tool_calls=calls).chat(
        model="llama3", messages=[{"role": "user", "content": "Weather?"}], stream=False
    )
    [call] = answer.message.tool_calls or []
    assert (call.function.name, dict(call.function.arguments)) == ("get_weather", {"city": "Oslo"})
