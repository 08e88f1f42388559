from __future__ import annotations

from typing import Any

import orjson
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion

from palisade.providers.anthropic.translate import (
    chat_answer_to_messages,
    messages_answer_to_chat,
)
from palisade.providers.anthropic.translate_stream import (
    ChatStreamToMessages,
    MessagesStreamToChat,
)
from palisade.providers.chat_chunks import DONE
from tests.providers.anthropic import wire

Event = tuple[str, dict[str, Any]]


def ev(kind: str, **data: Any) -> Event:
    return kind, {"type": kind, **data}


def delta(index: int, **d: Any) -> Event:
    return ev("content_block_delta", index=index, delta=d)


# A realistic Anthropic stream: thinking, text, two tool calls whose input arrives in pieces.
ANTHROPIC_EVENTS: list[Event] = [
    ev(
        "message_start",
        message={
            "id": "msg_01XYZ",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 25,
                "output_tokens": 1,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 0,
            },
        },
    ),
    ev("ping"),
    ev(
        "content_block_start",
        index=0,
        content_block={"type": "thinking", "thinking": "", "signature": ""},
    ),
    delta(0, type="thinking_delta", thinking="The user wants "),
    delta(0, type="thinking_delta", thinking="two cities."),
    delta(0, type="signature_delta", signature="EqQBCgIYAhIM1gbcDa9GJwZA"),
    ev("content_block_stop", index=0),
    ev("content_block_start", index=1, content_block={"type": "text", "text": ""}),
    delta(1, type="text_delta", text="Let me "),
    delta(1, type="text_delta", text="check both."),
    ev("content_block_stop", index=1),
    ev(
        "content_block_start",
        index=2,
        content_block={"type": "tool_use", "id": "toolu_01A", "name": "weather", "input": {}},
    ),
    delta(2, type="input_json_delta", partial_json=""),
    delta(2, type="input_json_delta", partial_json='{"ci'),
    delta(2, type="input_json_delta", partial_json='ty": "Par'),
    delta(2, type="input_json_delta", partial_json='is"}'),
    ev("content_block_stop", index=2),
    ev(
        "content_block_start",
        index=3,
        content_block={"type": "tool_use", "id": "toolu_01B", "name": "weather", "input": {}},
    ),
    delta(3, type="input_json_delta", partial_json='{"city": '),
    delta(3, type="input_json_delta", partial_json='"Rome", "days": 2}'),
    ev("content_block_stop", index=3),
    ev(
        "message_delta",
        delta={"stop_reason": "tool_use", "stop_sequence": None},
        usage={"output_tokens": 89},
    ),
    ev("message_stop"),
]


def anthropic_accumulate(events: list[Event]) -> Message:
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for kind, data in events:
        if kind == "ping":  # a keep-alive, not part of the message
            continue
        event = wire.anthropic_event(kind, data)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    return Message.model_validate(snapshot.model_dump())


def openai_accumulate(chunks: list[dict[str, Any]]) -> ChatCompletion:
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(wire.openai_chunk(chunk))
    # The snapshot, not get_final_completion(): that one raises on finish_reason "length".
    snapshot = state.current_completion_snapshot.model_dump(exclude_none=True)
    for choice in snapshot["choices"]:
        choice["message"].pop("parsed", None)
        for tool_call in choice["message"].get("tool_calls") or ():
            tool_call["function"].pop("parsed_arguments", None)
    return ChatCompletion.model_validate(snapshot)


def translate_anthropic(events: list[Event], *, include_usage: bool = True) -> list[Any]:
    translator = MessagesStreamToChat(include_usage=include_usage)
    out: list[Any] = []
    for kind, data in events:
        out.extend(translator.feed(kind, data))
    return out


def test_anthropic_stream_accumulates_to_the_translated_whole_answer() -> None:
    items = translate_anthropic(ANTHROPIC_EVENTS)
    assert items[-1] == DONE
    chunks = items[:-1]
    assert all(isinstance(c, dict) for c in chunks)
    streamed = openai_accumulate(chunks)

    whole = messages_answer_to_chat(anthropic_accumulate(ANTHROPIC_EVENTS).model_dump())
    expected = wire.openai_completion(whole)

    assert streamed.id == expected.id == "chatcmpl-01XYZ"
    assert streamed.model == "claude-test"
    choice, expected_choice = streamed.choices[0], expected.choices[0]
    assert choice.finish_reason == expected_choice.finish_reason == "tool_calls"
    assert choice.message.content == expected_choice.message.content == "Let me check both."
    got_calls = [c.model_dump() for c in choice.message.tool_calls or []]
    want_calls = [c.model_dump() for c in expected_choice.message.tool_calls or []]
    for call in got_calls + want_calls:
        call["function"]["arguments"] = orjson.loads(call["function"]["arguments"])
        call.pop("index", None)
    assert got_calls == want_calls
    assert [c["function"]["arguments"] for c in got_calls] == [
        {"city": "Paris"},
        {"city": "Rome", "days": 2},
    ]
    assert streamed.usage == expected.usage
    assert streamed.usage is not None
    assert streamed.usage.prompt_tokens == 125

    message = choice.message.model_dump()
    assert message["reasoning_content"] == "The user wants two cities."
    blocks = [{k: v for k, v in b.items() if k != "index"} for b in message["thinking_blocks"]]
    assert blocks == whole["choices"][0]["message"]["thinking_blocks"]


def test_streamed_thinking_goes_back_to_anthropic_signed() -> None:
    """The accumulated message an OpenAI client keeps carries thinking_blocks that translate
    back into the signed thinking block the next Anthropic request needs."""
    from palisade.providers.anthropic.translate import chat_request_to_messages

    chunks = [c for c in translate_anthropic(ANTHROPIC_EVENTS) if c != DONE]
    message = openai_accumulate(chunks).choices[0].message.model_dump(exclude_none=True)
    notes: list[str] = []
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "weather?"},
            message,
            {"role": "tool", "tool_call_id": "toolu_01A", "content": "sunny"},
            {"role": "tool", "tool_call_id": "toolu_01B", "content": "rain"},
        ],
    }
    out = chat_request_to_messages(body, notes)
    wire.anthropic_request(out)
    assert out["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "The user wants two cities.",
        "signature": "EqQBCgIYAhIM1gbcDa9GJwZA",
    }
    assert notes == []


def test_anthropic_stream_without_usage_and_redacted_thinking() -> None:
    events = [
        ANTHROPIC_EVENTS[0],
        ev(
            "content_block_start",
            index=0,
            content_block={"type": "redacted_thinking", "data": "enc"},
        ),
        ev("content_block_stop", index=0),
        ev("content_block_start", index=1, content_block={"type": "text", "text": ""}),
        delta(1, type="text_delta", text="hi"),
        ev("content_block_stop", index=1),
        ev(
            "message_delta",
            delta={"stop_reason": "max_tokens", "stop_sequence": None},
            usage={"output_tokens": 3},
        ),
        ev("message_stop"),
    ]
    items = translate_anthropic(events, include_usage=False)
    assert items[-1] == DONE
    assert not any("usage" in c for c in items[:-1])
    completion = openai_accumulate(items[:-1])
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "hi"
    blocks = completion.choices[0].message.model_dump()["thinking_blocks"]
    assert blocks == [{"index": 0, "type": "redacted_thinking", "data": "enc"}]


def test_anthropic_error_event_ends_the_stream_as_an_openai_error() -> None:
    translator = MessagesStreamToChat(include_usage=True)
    translator.feed(*ANTHROPIC_EVENTS[0])
    out = translator.feed(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    assert out == [
        {
            "error": {
                "message": "Overloaded",
                "type": "service_unavailable_error",
                "param": None,
                "code": "overloaded_error",
            }
        }
    ]
    assert translator.feed(*ANTHROPIC_EVENTS[-1]) == []


def test_anthropic_stream_without_message_stop_gives_its_usage_and_done_only_after_a_stop() -> None:
    translator = MessagesStreamToChat(include_usage=True)
    assert translator.finish() == []  # nothing started
    for event in ANTHROPIC_EVENTS[:-1]:  # the stop reason came, message_stop did not
        translator.feed(*event)
    usage, last = translator.finish()
    assert isinstance(usage, dict)
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 89
    assert last == "[DONE]"
    assert translator.finish() == []
    cut = MessagesStreamToChat(include_usage=True)
    for event in ANTHROPIC_EVENTS[:-2]:  # broke off before its stop reason
        cut.feed(*event)
    [cut_usage] = cut.finish()
    assert isinstance(cut_usage, dict)
    quiet = MessagesStreamToChat(include_usage=False)
    quiet.feed(*ANTHROPIC_EVENTS[0])
    assert quiet.finish() == []
    done = MessagesStreamToChat(include_usage=True)
    for event in ANTHROPIC_EVENTS:
        done.feed(*event)
    assert done.finish() == []


# --- OpenAI chunks -> Anthropic events --------------------------------------------------------


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    )
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-test",
        "choices": choices,
        **extra,
    }


def call(index: int, **fields: Any) -> dict[str, Any]:
    return {"tool_calls": [{"index": index, **fields}]}


OPENAI_CHUNKS: list[dict[str, Any] | str] = [
    chunk({"role": "assistant", "content": "", "refusal": None}),
    chunk({"reasoning_content": "Two "}),
    chunk({"reasoning_content": "lookups."}),
    chunk({"content": "Checking "}),
    chunk({"content": "now."}),
    chunk(call(0, id="call_A", type="function", function={"name": "weather", "arguments": ""})),
    chunk(call(0, function={"arguments": '{"city":'})),
    chunk(call(0, function={"arguments": '"Paris"}'})),
    chunk(call(1, id="call_B", type="function", function={"name": "time", "arguments": '{"tz"'})),
    chunk(call(1, function={"arguments": ':"CET"}'})),
    chunk({}, "tool_calls"),
    chunk(
        None,
        usage={
            "prompt_tokens": 1200,
            "completion_tokens": 60,
            "total_tokens": 1260,
            "prompt_tokens_details": {"cached_tokens": 1000},
        },
    ),
    DONE,
]


def translate_openai(chunks: list[dict[str, Any] | str], *, finish: bool = False) -> list[Event]:
    translator = ChatStreamToMessages(model="claude-via-gpt")
    out: list[Event] = []
    for c in chunks:
        out.extend(translator.feed(c))
    if finish:
        out.extend(translator.finish())
    assert translator.finish() == []
    return out


def test_openai_stream_accumulates_to_the_translated_whole_answer() -> None:
    events = translate_openai(OPENAI_CHUNKS)
    streamed = anthropic_accumulate(events)
    whole_openai = openai_accumulate([c for c in OPENAI_CHUNKS if isinstance(c, dict)])
    expected = wire.anthropic_message(chat_answer_to_messages(whole_openai.model_dump()))

    assert streamed.id == expected.id == "msg_abc123"
    assert streamed.model == "claude-via-gpt"
    assert streamed.stop_reason == expected.stop_reason == "tool_use"
    assert [b.model_dump() for b in streamed.content] == [b.model_dump() for b in expected.content]
    assert [b.type for b in streamed.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert streamed.content[2].model_dump()["input"] == {"city": "Paris"}
    assert streamed.content[3].model_dump()["input"] == {"tz": "CET"}
    assert streamed.usage.model_dump(exclude_none=True) == {
        "input_tokens": 200,
        "output_tokens": 60,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 0,
    }
    assert streamed.usage == expected.usage


def test_openai_stream_blocks_are_sequential() -> None:
    events = translate_openai(OPENAI_CHUNKS)
    kinds = [k for k, _ in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    open_block = None
    for kind, data in events:
        if kind == "content_block_start":
            assert open_block is None
            open_block = data["index"]
        elif kind == "content_block_delta":
            assert data["index"] == open_block
        elif kind == "content_block_stop":
            assert data["index"] == open_block
            open_block = None
    assert open_block is None


def test_openai_stream_without_done_is_closed_by_finish() -> None:
    events = translate_openai([c for c in OPENAI_CHUNKS if c != DONE], finish=True)
    assert anthropic_accumulate(events).stop_reason == "tool_use"
    # Cut before any finish_reason: closed, but with no stop reason to claim.
    events = translate_openai(OPENAI_CHUNKS[:5], finish=True)
    message = anthropic_accumulate(events)
    assert message.stop_reason is None
    assert message.content[-1].model_dump() == {
        "type": "text",
        "text": "Checking now.",
        "citations": None,
    }


def test_done_without_finish_reason_is_end_turn() -> None:
    events = translate_openai([chunk({"content": "hi"}), DONE])
    assert anthropic_accumulate(events).stop_reason == "end_turn"


def test_an_empty_stream_is_still_well_formed() -> None:
    events = translate_openai([DONE])
    message = anthropic_accumulate(events)
    assert message.content == []
    assert message.id.startswith("msg_")


def test_openai_refusal_stream() -> None:
    events = translate_openai(
        [chunk({"refusal": "I can't "}), chunk({"refusal": "help."}, "stop"), DONE]
    )
    message = anthropic_accumulate(events)
    assert message.stop_reason == "refusal"
    assert message.content[0].model_dump()["text"] == "I can't help."


def test_openai_error_chunk_becomes_an_error_event() -> None:
    translator = ChatStreamToMessages(model="m")
    translator.feed(chunk({"content": "partial"}))
    out = translator.feed(
        {
            "error": {
                "message": "Rate limit reached",
                "type": "requests",
                "code": "rate_limit_exceeded",
            }
        }
    )
    assert out == [
        (
            "error",
            {
                "type": "error",
                "error": {"type": "rate_limit_error", "message": "Rate limit reached"},
            },
        )
    ]
    assert translator.feed(DONE) == []
    assert translator.finish() == []


def test_tool_calls_without_index_and_whole_in_one_chunk() -> None:
    chunks: list[dict[str, Any] | str] = [
        chunk(
            {
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "a", "arguments": '{"x":1}'},
                    },
                    {"id": "c2", "type": "function", "function": {"name": "b", "arguments": "{}"}},
                ]
            },
            "tool_calls",
        ),
        DONE,
    ]
    message = anthropic_accumulate(translate_openai(chunks))
    assert [(b.model_dump()["id"], b.model_dump()["input"]) for b in message.content] == [
        ("c1", {"x": 1}),
        ("c2", {}),
    ]


def test_text_after_tool_calls_opens_a_new_block() -> None:
    chunks: list[dict[str, Any] | str] = [
        chunk(call(0, id="c1", type="function", function={"name": "a", "arguments": "{}"})),
        chunk({"content": "done"}, "stop"),
        DONE,
    ]
    message = anthropic_accumulate(translate_openai(chunks))
    assert [b.type for b in message.content] == ["tool_use", "text"]
