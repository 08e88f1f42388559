"""`POST /v1/messages` with `"stream": true`: the events on the wire, and the SDK's view of them."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import anthropic
import orjson
import pydantic
from anthropic.types import Message, RawMessageStreamEvent

from palisade.mock.content import count_tokens
from tests.mock.test_anthropic import MESSAGES, WEATHER_TOOL
from tests.mock.wire import assert_no_extras, sse_events

EVENTS: pydantic.TypeAdapter[RawMessageStreamEvent] = pydantic.TypeAdapter(RawMessageStreamEvent)


async def stream_events(
    http: aiohttp.ClientSession, body: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """(event name, payload) of a whole stream; each payload's `type` is its event name, and each
    but `ping` parses strictly as one of the SDK's stream events."""
    async with http.post("/v1/messages", json={**body, "stream": True}) as response:
        assert response.status == 200, await response.text()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["request-id"].startswith("req_")
        raw = await response.read()
    events = []
    for name, data in sse_events(raw):
        assert name is not None
        payload = orjson.loads(data)
        assert payload["type"] == name
        if name != "ping":
            assert_no_extras(EVENTS.validate_python(payload))
        events.append((name, payload))
    return events


def blocks(message: Message) -> list[dict[str, Any]]:
    """The content as data: a streamed message's blocks are the SDK's `Parsed...` subclasses."""
    return [block.model_dump(exclude={"parsed_output"}) for block in message.content]


async def whole(http: aiohttp.ClientSession, body: dict[str, Any]) -> Message:
    async with http.post("/v1/messages", json=body) as response:
        assert response.status == 200, await response.text()
        return Message.model_validate(await response.json())


async def test_text_stream_on_the_wire(claude_http: aiohttp.ClientSession) -> None:
    body = {"model": "m", "max_tokens": 256, "messages": MESSAGES, "mock": {"chunks": 4}}
    events = await stream_events(claude_http, body)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["content"] == []
    assert (start["stop_reason"], start["stop_sequence"]) == (None, None)
    assert start["id"].startswith("msg_")
    assert {
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "output_tokens",
    } <= set(start["usage"])
    assert events[1][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    deltas = [payload["delta"] for name, payload in events if name == "content_block_delta"]
    assert {delta["type"] for delta in deltas} == {"text_delta"}
    expected = await whole(claude_http, body)
    assert expected.content[0].type == "text"
    assert "".join(delta["text"] for delta in deltas) == expected.content[0].text
    final = events[-2][1]
    assert final["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert final["usage"]["output_tokens"] == expected.usage.output_tokens
    assert final["usage"]["input_tokens"] == start["usage"]["input_tokens"]
    assert start["usage"]["input_tokens"] == expected.usage.input_tokens


async def test_thinking_and_tool_use_on_the_wire(claude_http: aiohttp.ClientSession) -> None:
    knob = {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo", "days": 3}}]}
    body = {
        "model": "m",
        "max_tokens": 4096,
        "messages": MESSAGES,
        "tools": [WEATHER_TOOL],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "mock": {**knob, "chunks": 3},
    }
    events = await stream_events(claude_http, body)
    expected = await whole(claude_http, body)
    thinking, use = expected.content
    assert thinking.type == "thinking"
    assert use.type == "tool_use"

    by_block: dict[int, list[dict[str, Any]]] = {}
    for name, payload in events:
        if name == "content_block_delta":
            by_block.setdefault(payload["index"], []).append(payload["delta"])
    starts = [payload for name, payload in events if name == "content_block_start"]
    assert [s["content_block"] for s in starts] == [
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "tool_use", "id": use.id, "name": "get_weather", "input": {}},
    ]
    # Thinking pieces, then the signature just before the block stops.
    thought = by_block[0]
    assert [d["type"] for d in thought] == ["thinking_delta"] * 3 + ["signature_delta"]
    assert "".join(d["thinking"] for d in thought[:-1]) == thinking.thinking
    assert thought[-1]["signature"] == thinking.signature
    pieces = by_block[1]
    assert {d["type"] for d in pieces} == {"input_json_delta"}
    assert len(pieces) == 3
    assert orjson.loads("".join(d["partial_json"] for d in pieces)) == {"city": "Oslo", "days": 3}
    stop = next(payload for name, payload in events if name == "message_delta")
    assert stop["delta"]["stop_reason"] == "tool_use"
    assert stop["usage"]["output_tokens"] == expected.usage.output_tokens


def test_sdk_stream_rebuilds_the_whole_message(claude: anthropic.Anthropic) -> None:
    kwargs: Any = {
        "model": "claude-haiku-4-5",
        "max_tokens": 4096,
        "system": "Be brief.",
        "messages": MESSAGES,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "stop_sequences": ["zzz"],
    }
    expected = claude.messages.create(**kwargs)
    seen: list[str] = []
    with claude.messages.stream(**kwargs) as stream:
        for event in stream:
            seen.append(event.type)
        final = stream.get_final_message()
    assert blocks(final) == blocks(expected)
    assert final.usage == expected.usage
    assert (final.stop_reason, final.model) == ("end_turn", "claude-haiku-4-5")
    assert {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "thinking",
        "signature",
        "text",
        "content_block_stop",
        "message_delta",
        "message_stop",
    } == set(seen)
    assert seen[0] == "message_start"
    assert seen[-1] == "message_stop"


def test_sdk_stream_of_a_forced_tool(claude: anthropic.Anthropic) -> None:
    kwargs: Any = {
        "model": "m",
        "max_tokens": 256,
        "messages": MESSAGES,
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "tool", "name": "get_weather"},
    }
    expected = claude.messages.create(**kwargs)
    partials: list[str] = []
    with claude.messages.stream(**kwargs) as stream:
        for event in stream:
            if event.type == "input_json":
                partials.append(event.partial_json)
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert blocks(final) == blocks(expected)
    assert len(partials) > 1
    [use] = expected.content
    assert use.type == "tool_use"
    assert orjson.loads("".join(partials)) == use.input


async def test_async_sdk_stream_with_cut_text(async_claude: anthropic.AsyncAnthropic) -> None:
    knobs = {
        "reply": "one two three four five",
        "reply_chunks": ["one", " two three", " four five"],
    }
    async with async_claude.messages.stream(
        model="m", max_tokens=256, messages=MESSAGES, extra_body={"mock": knobs}
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert pieces == ["one", " two three", " four five"]
    assert final.usage.output_tokens == count_tokens("one two three four five")

    async with async_claude.messages.stream(
        model="m",
        max_tokens=256,
        messages=MESSAGES,
        stop_sequences=["four"],
        extra_body={"mock": {"reply": "one two three four five"}},
    ) as stream:
        stopped = await stream.get_final_message()
    assert stopped.content[0].type == "text"
    assert stopped.content[0].text == "one two three "
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "four")


async def test_pieces_leave_as_they_are_made(claude_http: aiohttp.ClientSession) -> None:
    body = {
        "model": "m",
        "max_tokens": 256,
        "messages": MESSAGES,
        "stream": True,
        "mock": {"chunks": 3, "chunk_interval_ms": 150, "reply": "one two three"},
    }
    texts: list[str] = []
    pending_when_seen: list[bool] = []
    async with claude_http.post("/v1/messages", json=body) as response:
        async for line in response.content:
            if not line.startswith(b"data: {"):
                continue
            payload = orjson.loads(line[6:])
            if payload["type"] == "content_block_delta":
                texts.append(payload["delta"]["text"])
                try:
                    await asyncio.wait_for(response.content.wait_eof(), timeout=0.02)
                    pending_when_seen.append(False)
                except TimeoutError:
                    pending_when_seen.append(True)
    assert texts == ["one", " two", " three"]
    assert pending_when_seen[:2] == [True, True]
