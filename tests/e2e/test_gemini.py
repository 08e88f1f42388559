"""Gemini's native route through a real Granian gateway, driven by the official google-genai SDK
changed only in its base URL; the mock provider (its Gemini side) records what reached it. Then
OpenAI and Anthropic clients reaching a Gemini-dialect provider through translation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.e2e.conftest import ADMIN_TOKEN, CLIENT_KEY, MOCK_KEY, Stack
from tests.helpers.records import interaction

MODEL = "gemini-2.5-flash"
# Built at run time so that no secret scanner flags this test file.
SECRET = "sk-proj-" + "Q7vX2mK9pL4wR8tY1nB5cJ3hF6dS0aZe" + "T3BlbkFJ" + "uV8kN2qW5xM1rP9s"
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="The weather in a city.",
    parameters_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def gemini_client(stack: Stack, path: str = "/v1/gemini") -> genai.Client:
    return genai.Client(api_key=CLIENT_KEY, http_options={"base_url": f"{stack.gateway}{path}"})


@pytest.fixture
def client(stack: Stack) -> Iterator[genai.Client]:
    with gemini_client(stack) as c:
        yield c


def knobs(**values: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        http_options=types.HttpOptions(headers={"x-mock-knobs": json.dumps(values)})
    )


def record(stack: Stack, request_id: str) -> dict[str, Any]:
    return interaction(stack.gateway, request_id, ADMIN_TOKEN)


def request_id(response: Any) -> str:
    headers = response.sdk_http_response.headers
    value: str = headers["x-palisade-request-id"]
    return value


# --- the native route --------------------------------------------------------------------------


def test_generate_reaches_the_gemini_provider_and_answers_as_gemini(
    client: genai.Client, stack: Stack
) -> None:
    stack.clear_mock()
    response = client.models.generate_content(
        model=MODEL, contents="Say hello.", config=knobs(reply="Hi!")
    )
    assert response.text == "Hi!"
    assert response.usage_metadata is not None
    assert response.usage_metadata.prompt_token_count
    assert response.usage_metadata.candidates_token_count
    [seen] = stack.mock_requests()
    assert seen["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert seen["headers"]["x-goog-api-key"] == MOCK_KEY  # the gateway's key, not the client's
    assert CLIENT_KEY not in json.dumps(seen["headers"])
    assert seen["body"]["contents"] == [{"parts": [{"text": "Say hello."}], "role": "user"}]


def test_the_v1beta_api_version_is_served_too(stack: Stack) -> None:
    options = {"base_url": f"{stack.gateway}/v1/gemini", "api_version": "v1beta"}
    with genai.Client(api_key=CLIENT_KEY, http_options=options) as c:  # type: ignore[arg-type]
        response = c.models.generate_content(model=MODEL, contents="hi", config=knobs(reply="ok"))
        assert response.text == "ok"
        assert c.models.count_tokens(model=MODEL, contents="hi").total_tokens


def test_a_provider_prefix_names_the_provider_in_the_path(
    client: genai.Client, stack: Stack
) -> None:
    stack.clear_mock()
    response = client.models.generate_content(model="mock-gemini:my-tuned-model", contents="hi")
    assert response.text
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v1beta/models/my-tuned-model:generateContent"


def test_a_stream_arrives_in_chunks_with_usage(client: genai.Client, stack: Stack) -> None:
    stack.clear_mock()
    chunks = list(
        client.models.generate_content_stream(
            model=MODEL,
            contents="Count to three.",
            config=knobs(reply_chunks=["one, ", "two, ", "three."]),
        )
    )
    assert [c.text for c in chunks] == ["one, ", "two, ", "three."]
    assert chunks[-1].candidates is not None
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].usage_metadata.candidates_token_count
    [seen] = stack.mock_requests()
    assert seen["path"] == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert seen["query"] == "alt=sse"


def test_count_tokens(client: genai.Client, stack: Stack) -> None:
    stack.clear_mock()
    counted = client.models.count_tokens(model=MODEL, contents="How many tokens is this?")
    assert counted.total_tokens is not None
    assert counted.total_tokens > 3
    [seen] = stack.mock_requests()
    assert seen["path"] == f"/v1beta/models/{MODEL}:countTokens"


def test_function_calling_round_trip(client: genai.Client, stack: Stack) -> None:
    tools = [types.Tool(function_declarations=[WEATHER])]
    forced = types.ToolConfig(
        function_calling_config=types.FunctionCallingConfig(
            mode=types.FunctionCallingConfigMode.ANY
        )
    )
    first = client.models.generate_content(
        model=MODEL,
        contents="Weather in Paris?",
        config=types.GenerateContentConfig(tools=tools, tool_config=forced),
    )
    assert first.function_calls is not None
    [call] = first.function_calls
    assert call.name == "get_weather"
    assert call.args is not None
    assert set(call.args) == {"city"}
    assert first.candidates is not None
    assert first.candidates[0].content is not None
    history = [
        types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]),
        first.candidates[0].content,
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="get_weather", response={"temp": "21C"})],
        ),
    ]
    second = client.models.generate_content(
        model=MODEL, contents=history, config=types.GenerateContentConfig(tools=tools)
    )
    assert second.text
    assert not second.function_calls


def test_a_key_in_the_query_never_leaves_the_gateway(stack: Stack) -> None:
    stack.clear_mock()
    answer = httpx.post(
        f"{stack.gateway}/v1/gemini/v1beta/models/{MODEL}:generateContent?key={CLIENT_KEY}",
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        timeout=20,
    )
    assert answer.status_code == 200, answer.text
    [seen] = stack.mock_requests()
    assert seen["query"] == ""
    assert CLIENT_KEY not in json.dumps(seen)
    item = record(stack, answer.headers["x-palisade-request-id"])
    assert CLIENT_KEY not in json.dumps(item)


def test_the_model_listing_answers_as_gemini(client: genai.Client) -> None:
    names = {m.name for m in client.models.list()}
    assert f"models/{MODEL}" in names


def test_an_upstream_error_is_raised_by_the_sdk_with_its_code(client: genai.Client) -> None:
    with pytest.raises(genai_errors.APIError) as caught:
        client.models.generate_content(model=MODEL, contents="hi", config=knobs(fail="429"))
    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"


def test_a_gateway_error_is_a_gemini_error(client: genai.Client) -> None:
    with pytest.raises(genai_errors.APIError) as caught:
        client.models.generate_content(model="no-such-model", contents="hi")
    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"
    assert "no-such-model" in (caught.value.message or "")


def test_an_error_mid_stream_is_raised_by_the_sdk(client: genai.Client) -> None:
    got: list[str] = []

    def read() -> None:
        for chunk in client.models.generate_content_stream(
            model=MODEL,
            contents="hi",
            config=knobs(fail="stream_error", fail_after_chunks=1, chunks=4),
        ):
            got.append(chunk.text or "")

    with pytest.raises(genai_errors.APIError) as caught:
        read()
    assert caught.value.code == 500
    assert len(got) == 1


def test_a_secret_split_across_stream_events_is_redacted(stack: Stack) -> None:
    reply = f"Your key is {SECRET} keep it safe."
    cut = reply.index(SECRET) + 10
    with gemini_client(stack, "/v1/gemini/redacted") as c:
        chunks = list(
            c.models.generate_content_stream(
                model=MODEL,
                contents="What is my key?",
                config=knobs(reply_chunks=[reply[:cut], reply[cut:]]),
            )
        )
    text = "".join(chunk.text or "" for chunk in chunks)
    assert SECRET not in text
    assert SECRET[:10] not in text
    assert text.startswith("Your key is ")
    assert text.endswith(" keep it safe.")


def test_usage_and_cost_are_recorded(client: genai.Client, stack: Stack) -> None:
    response = client.models.generate_content(model=MODEL, contents="Say hello.")
    meta = response.usage_metadata
    assert meta is not None
    assert meta.prompt_token_count
    assert meta.candidates_token_count
    item = record(stack, request_id(response))
    assert (item["provider"], item["model"], item["endpoint"]) == (
        "mock-gemini",
        MODEL,
        "generateContent",
    )
    assert item["input_tokens"] == meta.prompt_token_count
    assert item["output_tokens"] == meta.candidates_token_count
    assert item["tokens_counted"] is False
    assert item["cost_usd"] is not None
    assert item["cost_usd"] > 0


def test_a_stream_records_the_usage_of_its_last_chunk(client: genai.Client, stack: Stack) -> None:
    stack.clear_mock()
    chunks = list(
        client.models.generate_content_stream(
            model=MODEL, contents="Say hello.", config=knobs(chunks=3)
        )
    )
    meta = chunks[-1].usage_metadata
    assert meta is not None
    [seen] = stack.mock_requests()
    del seen
    item = record(stack, request_id(chunks[0]))
    assert item["stream"] is True
    assert item["input_tokens"] == meta.prompt_token_count
    assert item["output_tokens"] == meta.candidates_token_count


# --- other clients, translated -----------------------------------------------------------------


@pytest.fixture
def chat(stack: Stack) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{stack.gateway}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=20
    ) as c:
        yield c


CHAT_WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_an_openai_chat_client_reaches_gemini(chat: openai.OpenAI, stack: Stack) -> None:
    stack.clear_mock()
    raw = chat.chat.completions.with_raw_response.create(
        model="mock-gemini:x",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello."},
        ],
        max_tokens=50,
        extra_headers={"x-mock-knobs": json.dumps({"reply": "Hello there."})},
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == "Hello there."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.prompt_tokens > 0
    assert raw.headers["x-palisade-translated"] == "gemini:generateContent"
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v1beta/models/x:generateContent"
    assert seen["body"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert seen["body"]["generationConfig"] == {"maxOutputTokens": 50}
    assert "model" not in seen["body"]


def test_an_openai_chat_stream_with_usage_reaches_gemini(chat: openai.OpenAI) -> None:
    stream = chat.chat.completions.create(
        model="mock-gemini:x",
        messages=[{"role": "user", "content": "Count."}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-mock-knobs": json.dumps({"reply_chunks": ["a ", "b ", "c"]})},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "a b c"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


def test_openai_tool_calls_round_trip_through_gemini(chat: openai.OpenAI, stack: Stack) -> None:
    stack.clear_mock()
    first = chat.chat.completions.create(
        model="mock-gemini:x",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[CHAT_WEATHER],
        tool_choice="required",
    )
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    [call] = message.tool_calls
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    second = chat.chat.completions.create(
        model="mock-gemini:x",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": '{"temp": "21C"}'},
        ],
        tools=[CHAT_WEATHER],
    )
    assert second.choices[0].message.content
    sent = stack.mock_requests()[-1]["body"]
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert sent["contents"][1]["parts"][0]["functionCall"]["name"] == "get_weather"
    assert sent["contents"][2]["parts"][0]["functionResponse"] == {
        "name": "get_weather",
        "response": {"temp": "21C"},
    }


def test_an_openai_stream_of_a_tool_call_through_gemini(chat: openai.OpenAI) -> None:
    stream = chat.chat.completions.create(
        model="mock-gemini:x",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[CHAT_WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        stream=True,
    )
    chunks = [c for c in stream if c.choices]
    calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments or "")["city"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_an_upstream_error_reaches_an_openai_client_as_openai(chat: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        chat.chat.completions.create(
            model="mock-gemini:x",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-mock-knobs": json.dumps({"fail": "429"})},
        )
    assert caught.value.code == "RESOURCE_EXHAUSTED"


def test_an_openai_responses_client_reaches_gemini(chat: openai.OpenAI) -> None:
    response = chat.responses.create(
        model="mock-gemini:x",
        input="Say hello.",
        extra_headers={"x-mock-knobs": json.dumps({"reply": "Hello from Gemini."})},
    )
    assert response.output_text == "Hello from Gemini."
    assert response.usage is not None
    assert response.usage.input_tokens > 0
    streamed = chat.responses.create(
        model="mock-gemini:x",
        input="Say hello.",
        stream=True,
        extra_headers={"x-mock-knobs": json.dumps({"reply_chunks": ["Hel", "lo."]})},
    )
    deltas = [e.delta for e in streamed if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "Hello."


def test_an_openai_responses_client_calls_tools_on_gemini(chat: openai.OpenAI) -> None:
    response = chat.responses.create(
        model="mock-gemini:x",
        input="Weather in Paris?",
        tools=[{"type": "function", **CHAT_WEATHER["function"]}],  # type: ignore[call-overload]
        tool_choice="required",
    )
    [call] = [item for item in response.output if item.type == "function_call"]
    assert call.name == "get_weather"


def test_an_anthropic_client_reaches_gemini(stack: Stack) -> None:
    with anthropic.Anthropic(
        base_url=f"{stack.gateway}/v1/anthropic", api_key=CLIENT_KEY, max_retries=0
    ) as claude:
        message = claude.messages.create(
            model="mock-gemini:x",
            max_tokens=64,
            system="Be brief.",
            messages=[{"role": "user", "content": "Say hello."}],
            extra_headers={"x-mock-knobs": json.dumps({"reply": "Hi from Gemini."})},
        )
        assert message.content[0].type == "text"
        assert message.content[0].text == "Hi from Gemini."
        assert message.usage.output_tokens > 0
        with claude.messages.stream(
            model="mock-gemini:x",
            max_tokens=64,
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[
                {
                    "name": "get_weather",
                    "description": "The weather in a city.",
                    "input_schema": CHAT_WEATHER["function"]["parameters"],
                }
            ],
            tool_choice={"type": "any"},
        ) as stream:
            final = stream.get_final_message()
        assert final.stop_reason == "tool_use"
        [use] = [b for b in final.content if b.type == "tool_use"]
        assert use.name == "get_weather"
        assert "city" in use.input


def test_a_tool_policy_blocks_a_function_call_on_the_native_route(stack: Stack) -> None:
    calls = [{"name": "run_shell", "arguments": {"command": "rm -rf /"}}]
    with gemini_client(stack, "/v1/gemini/agents") as c:
        whole = c.models.generate_content(
            model=MODEL, contents="clean up", config=knobs(tool_calls=calls)
        )
        chunks = list(
            c.models.generate_content_stream(
                model=MODEL, contents="clean up", config=knobs(tool_calls=calls)
            )
        )
    assert not whole.function_calls
    assert "no-rm" in (whole.text or "")
    assert not any(chunk.function_calls for chunk in chunks)
    assert "no-rm" in "".join(chunk.text or "" for chunk in chunks)


def test_a_model_of_another_dialect_is_refused_in_gemini_s_format(client: genai.Client) -> None:
    with pytest.raises(genai_errors.APIError) as caught:
        client.models.generate_content(model="claude-haiku-4-5", contents="hi")
    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"
