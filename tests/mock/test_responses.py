from __future__ import annotations

from typing import Any

import aiohttp
import openai
import orjson
import pydantic
from openai.types.responses import Response, ResponseStreamEvent

from tests.mock.wire import assert_no_extras, sse_events, strict

EVENT = pydantic.TypeAdapter[ResponseStreamEvent](ResponseStreamEvent)


def test_non_stream_parses_strictly(client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(
        model="gpt-4o", input="Hello there", instructions="Be nice."
    )
    response = strict(Response, orjson.loads(raw.http_response.content))
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == "gpt-4o"
    assert response.instructions == "Be nice."
    assert response.output_text
    assert response.usage is not None
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert raw.parse().output_text == response.output_text


def test_input_items_and_max_output_tokens(client: openai.OpenAI) -> None:
    items: Any = [
        {"role": "user", "content": "first"},
        {"role": "user", "content": [{"type": "input_text", "text": "second"}]},
    ]
    whole = client.responses.create(model="m", input=items)
    again = client.responses.create(model="m", input=items)
    assert whole.output_text == again.output_text
    cut = client.responses.create(model="m", input=items, max_output_tokens=2)
    assert cut.status == "incomplete"
    assert cut.incomplete_details is not None
    assert cut.incomplete_details.reason == "max_output_tokens"
    assert cut.usage is not None
    assert cut.usage.output_tokens == 2


async def test_stream_events_on_the_wire(http: aiohttp.ClientSession) -> None:
    body = {"model": "gpt-4o", "input": "Hi", "stream": True, "mock": {"chunks": 4}}
    async with http.post("/v1/responses", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(await response.read())
    parsed = []
    for name, data in events:
        event = EVENT.validate_python(orjson.loads(data))
        assert_no_extras(event)
        assert name == event.type
        parsed.append(event)
    kinds = [e.type for e in parsed]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 4,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in parsed] == list(range(len(parsed)))
    deltas = "".join(e.delta for e in parsed if e.type == "response.output_text.delta")
    done = parsed[-1]
    assert done.type == "response.completed"
    assert done.response.output_text == deltas
    async with http.post("/v1/responses", json={**body, "stream": False}) as response:
        assert orjson.loads(await response.read())["output"][0]["content"][0]["text"] == deltas


async def test_stream_with_async_sdk(async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.responses.create(
        model="gpt-4o", input="Hi", stream=True, extra_body={"mock": {"reply": "A b c."}}
    )
    events = [event async for event in stream]
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "A b c."


def test_function_call_output(client: openai.OpenAI) -> None:
    tool: Any = {
        "type": "function",
        "name": "search",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        "strict": False,
    }
    raw = client.responses.with_raw_response.create(
        model="m", input="find it", tools=[tool], tool_choice="required"
    )
    response = strict(Response, orjson.loads(raw.http_response.content))
    call = response.output[0]
    assert call.type == "function_call"
    assert call.name == "search"
    assert set(orjson.loads(call.arguments)) == {"q"}

    with client.responses.stream(
        model="m", input="find it", tools=[tool], tool_choice="required"
    ) as stream:
        final = stream.get_final_response()
    streamed = final.output[0]
    assert streamed.type == "function_call"
    assert streamed.arguments == call.arguments


def test_tool_rounds_limit_the_forced_calls(client: openai.OpenAI) -> None:
    knob = {"tool_calls": [{"name": "search", "arguments": {"q": "x"}}], "tool_rounds": 1}
    first = client.responses.create(model="m", input="find it", extra_body={"mock": knob})
    call = first.output[0]
    assert call.type == "function_call"
    items: Any = [
        {"role": "user", "content": "find it"},
        {"type": "function_call", "call_id": call.call_id, "name": "search", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call.call_id, "output": "found"},
    ]
    second = client.responses.create(model="m", input=items, extra_body={"mock": knob})
    assert [item.type for item in second.output] == ["message"]
