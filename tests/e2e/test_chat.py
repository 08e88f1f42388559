"""Chat completions through a real Granian gateway, driven by the official openai SDK."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.e2e.conftest import CLIENT_KEY, MOCK_KEY, Stack

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello to the gateway."}]
WEATHER_TOOL: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            },
        },
    }
]


def test_non_stream_sync(client: openai.OpenAI, stack: Stack) -> None:
    stack.clear_mock()
    answer = client.chat.completions.create(
        model="mock-gpt", messages=MESSAGES, extra_body={"mock": {"reply": "Hello, gateway."}}
    )
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content == "Hello, gateway."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.total_tokens > 0
    [seen] = stack.mock_requests()
    # The gateway sets the provider key; the client's own key never leaves.
    assert seen["headers"]["authorization"] == f"Bearer {MOCK_KEY}"
    assert CLIENT_KEY not in json.dumps(seen)
    assert seen["body"]["messages"] == MESSAGES


async def test_non_stream_async(async_client: openai.AsyncOpenAI) -> None:
    answer = await async_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_body={"mock": {"reply": "async hi"}}
    )
    assert answer.choices[0].message.content == "async hi"
    assert answer.model == "gpt-4o-mini"


def test_provider_prefix_is_stripped_before_forwarding(client: openai.OpenAI, stack: Stack) -> None:
    stack.clear_mock()
    answer = client.chat.completions.create(model="mock:my-model", messages=MESSAGES)
    assert answer.model == "my-model"
    assert stack.mock_requests()[0]["body"]["model"] == "my-model"


def test_stream_text_without_usage_hides_the_injected_usage(
    client: openai.OpenAI, stack: Stack
) -> None:
    stack.clear_mock()
    chunks = list(
        client.chat.completions.create(
            model="mock-gpt",
            messages=MESSAGES,
            stream=True,
            extra_body={"mock": {"reply": "one two three four", "chunks": 4}},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert chunks[-1].choices[0].finish_reason == "stop"
    # The gateway asked for usage on its own (to account for the call) ...
    assert stack.mock_requests()[0]["body"]["stream_options"] == {"include_usage": True}
    # ... and the client, who did not, sees no trace of it.
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)
    assert all("usage" not in c.model_dump(exclude_unset=True) for c in chunks)


async def test_stream_with_include_usage_async(async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.chat.completions.create(
        model="mock-gpt",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"mock": {"reply": "a b c", "chunks": 3}},
    )
    chunks = [c async for c in stream]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == "a b c"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(client: openai.OpenAI, stream: bool) -> None:
    kwargs: dict[str, Any] = {
        "model": "mock-gpt",
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
        "tools": WEATHER_TOOL,
        "tool_choice": "required",
    }
    if not stream:
        answer = client.chat.completions.create(**kwargs)
        [call] = answer.choices[0].message.tool_calls or []
        assert answer.choices[0].finish_reason == "tool_calls"
        assert call.type == "function"
        name, arguments = call.function.name, call.function.arguments
    else:
        name, arguments, finish = "", "", None
        for chunk in client.chat.completions.create(stream=True, **kwargs):
            for delta_call in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
                assert delta_call.index == 0
                if delta_call.function and delta_call.function.name:
                    name += delta_call.function.name
                if delta_call.function and delta_call.function.arguments:
                    arguments += delta_call.function.arguments
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
        assert finish == "tool_calls"
    assert name == "get_weather"
    assert "city" in json.loads(arguments)


def test_openai_prefix_route_is_the_same_surface(stack: Stack) -> None:
    with openai.OpenAI(
        base_url=f"{stack.gateway}/v1/openai", api_key=CLIENT_KEY, max_retries=0
    ) as prefixed:
        answer = prefixed.chat.completions.create(
            model="mock-gpt", messages=MESSAGES, extra_body={"mock": {"reply": "prefixed"}}
        )
        assert answer.choices[0].message.content == "prefixed"
        assert any(m.id == "mock-gpt" for m in prefixed.models.list())
