from __future__ import annotations

from typing import Any

import aiohttp
import openai
import orjson
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.mock.wire import sse_json, strict

MESSAGES: list[Any] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello, mock!"},
]
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1},
            },
            "required": ["city", "unit", "days"],
        },
    },
}


async def post_json(http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> Any:
    async with http.post(path, json=body) as response:
        assert response.status == 200, await response.text()
        return orjson.loads(await response.read())


async def post_stream(http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> bytes:
    async with http.post(path, json=body) as response:
        assert response.status == 200, await response.text()
        assert response.headers["content-type"].startswith("text/event-stream")
        return await response.read()


def test_non_stream_text_parses_strictly(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    completion = strict(ChatCompletion, orjson.loads(raw.http_response.content))
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.message.tool_calls is None
    usage = completion.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0
    assert raw.parse().choices[0].message.content == choice.message.content


def test_same_request_same_answer_any_model(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="mock:anything", messages=MESSAGES)
    second = client.chat.completions.create(model="mock:anything", messages=MESSAGES)
    other = client.chat.completions.create(
        model="mock:anything", messages=[{"role": "user", "content": "Something else"}]
    )
    assert first.model == "mock:anything"
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.usage == second.usage
    assert first.id != second.id
    assert first.choices[0].message.content != other.choices[0].message.content


def test_reply_knob_n_and_max_tokens(client: openai.OpenAI) -> None:
    fixed = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, extra_body={"mock": {"reply": "Exactly this."}}
    )
    assert fixed.choices[0].message.content == "Exactly this."
    assert fixed.usage is not None
    assert fixed.usage.completion_tokens == 3  # "Exactly", "this", "."

    several = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=3)
    assert [c.index for c in several.choices] == [0, 1, 2]
    assert len({c.message.content for c in several.choices}) == 3

    cut = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=2)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None
    assert cut.usage.completion_tokens == 2
    newer = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_completion_tokens=2
    )
    assert newer.choices[0].message.content == cut.choices[0].message.content


def test_stop_sequence(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stop=["STOP"], extra_body={"mock": {"reply": "a STOP b"}}
    )
    assert answer.choices[0].message.content == "a "
    assert answer.choices[0].finish_reason == "stop"


def test_stream_text_equals_non_stream(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, extra_body={"mock": {"chunks": 5}}
        )
    )
    assert len({c.id for c in chunks}) == 1
    assert len({c.created for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    contents = [c.choices[0].delta.content for c in chunks[1:] if c.choices[0].delta.content]
    assert len(contents) == 5
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


async def test_stream_usage_rules_on_the_wire(http: aiohttp.ClientSession) -> None:
    body: dict[str, Any] = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    without = sse_json(await post_stream(http, "/v1/chat/completions", body))
    assert all("usage" not in chunk for chunk in without)
    for chunk in without:
        strict(ChatCompletionChunk, chunk)

    body["stream_options"] = {"include_usage": True}
    with_usage = sse_json(await post_stream(http, "/v1/chat/completions", body))
    assert len(with_usage) == len(without) + 1
    *content, last = with_usage
    assert all("usage" in chunk and chunk["usage"] is None for chunk in content)
    assert last["choices"] == []
    usage = strict(ChatCompletionChunk, last).usage
    assert usage is not None
    non_stream = await post_json(http, "/v1/chat/completions", {**body, "stream": False})
    assert usage.model_dump() == ChatCompletion.model_validate(non_stream).usage.model_dump()  # type: ignore[union-attr]
    assert content[-1]["choices"][0]["finish_reason"] == "stop"


async def test_async_stream_length_finish(async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        max_tokens=3,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3
    assert chunks[-2].choices[0].finish_reason == "length"


def test_tool_choice_required_non_stream(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=MESSAGES, tools=[WEATHER_TOOL], tool_choice="required"
    )
    completion = strict(ChatCompletion, orjson.loads(raw.http_response.content))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    arguments = orjson.loads(call.function.arguments)
    assert set(arguments) == {"city", "unit", "days"}
    assert arguments["unit"] == "celsius"
    assert isinstance(arguments["city"], str)
    assert arguments["days"] == 1


def test_tool_rounds_limit_the_forced_calls(client: openai.OpenAI) -> None:
    knob = {
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}],
        "tool_rounds": 1,
    }
    first = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, tools=[WEATHER_TOOL], extra_body={"mock": knob}
    )
    [call] = first.choices[0].message.tool_calls or []
    history: Any = [
        *MESSAGES,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny"},
    ]
    second = client.chat.completions.create(
        model="gpt-4o", messages=history, tools=[WEATHER_TOOL], extra_body={"mock": knob}
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.tool_calls is None


def test_auto_tool_choice_answers_with_text(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=[WEATHER_TOOL])
    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.tool_calls is None


async def test_named_tool_choice_stream_matches_non_stream(
    async_client: openai.AsyncOpenAI, http: aiohttp.ClientSession
) -> None:
    other_tool = {"type": "function", "function": {"name": "noop", "parameters": {}}}
    kwargs: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": MESSAGES,
        "tools": [other_tool, WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }
    whole = await async_client.chat.completions.create(**kwargs)
    assert whole.choices[0].message.tool_calls is not None
    expected = whole.choices[0].message.tool_calls[0]

    raw = await post_stream(http, "/v1/chat/completions", {**kwargs, "stream": True})
    chunks = [strict(ChatCompletionChunk, c) for c in sse_json(raw)]
    first = chunks[0].choices[0].delta
    assert first.role == "assistant"
    assert first.tool_calls is not None
    head = first.tool_calls[0]
    assert (head.index, head.id, head.type) == (0, expected.id, "function")
    assert head.function is not None
    assert head.function.name == "get_weather"
    assert head.function.arguments == ""
    fragments = []
    for chunk in chunks[1:-1]:
        calls = chunk.choices[0].delta.tool_calls
        assert calls is not None
        assert calls[0].id is None
        assert calls[0].function is not None
        fragments.append(calls[0].function.arguments or "")
    assert len(fragments) > 1
    assert "".join(fragments) == expected.function.arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_calls_knob_streamed_by_the_sdk(client: openai.OpenAI) -> None:
    knob = {
        "tool_calls": [
            {"name": "lookup", "arguments": {"q": "palisade"}},
            {"name": "fetch", "arguments": '{"url": "x"}'},
        ]
    }
    calls: dict[int, dict[str, str]] = {}
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, extra_body={"mock": knob}
    )
    finish = None
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"name": "", "arguments": ""})
            assert delta.function is not None
            call["name"] += delta.function.name or ""
            call["arguments"] += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert calls == {
        0: {"name": "lookup", "arguments": '{"q":"palisade"}'},
        1: {"name": "fetch", "arguments": '{"url": "x"}'},
    }


async def test_stream_n_choices(http: aiohttp.ClientSession) -> None:
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True, "n": 2}
    chunks = sse_json(await post_stream(http, "/v1/chat/completions", body))
    texts = {0: "", 1: ""}
    finishes = {}
    for chunk in chunks:
        choice = strict(ChatCompletionChunk, chunk).choices[0]
        texts[choice.index] += choice.delta.content or ""
        if choice.finish_reason:
            finishes[choice.index] = choice.finish_reason
    whole = await post_json(http, "/v1/chat/completions", {**body, "stream": False})
    assert texts == {c["index"]: c["message"]["content"] for c in whole["choices"]}
    assert finishes == {0: "stop", 1: "stop"}
