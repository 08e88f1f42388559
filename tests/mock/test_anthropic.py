"""`POST /v1/messages` (whole answers) and `/v1/messages/count_tokens`, through the SDK."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import anthropic
import orjson
import pytest
from anthropic.types import Message

from palisade.mock.anthropic_dialect import ORGANIZATION_ID
from palisade.mock.content import count_tokens
from tests.mock.wire import strict

MESSAGES: Any = [{"role": "user", "content": "Hello, mock!"}]
WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1},
        },
        "required": ["city", "unit", "days"],
    },
}
NOOP_TOOL: Any = {"name": "noop", "input_schema": {"type": "object", "properties": {}}}


def test_text_message_parses_strictly(claude: anthropic.Anthropic) -> None:
    raw = claude.messages.with_raw_response.create(
        model="claude-haiku-4-5", max_tokens=256, system="Be brief.", messages=MESSAGES
    )
    message = strict(Message, orjson.loads(raw.http_response.content))
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == (
        "message",
        "assistant",
        "claude-haiku-4-5",
    )
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    [block] = message.content
    assert block.type == "text"
    assert block.text
    usage = message.usage
    assert usage.output_tokens == count_tokens(block.text)
    assert usage.input_tokens > count_tokens("Be brief. Hello, mock!")
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (0, 0)
    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["anthropic-organization-id"] == ORGANIZATION_ID.decode()
    assert raw.parse().content == message.content


def test_same_request_same_answer_any_system_form(claude: anthropic.Anthropic) -> None:
    as_text = claude.messages.create(
        model="mock-claude", max_tokens=256, system="Be brief.", messages=MESSAGES
    )
    as_blocks = claude.messages.create(
        model="mock-claude",
        max_tokens=256,
        system=[{"type": "text", "text": "Be brief."}],
        messages=MESSAGES,
    )
    other = claude.messages.create(
        model="mock-claude", max_tokens=256, system="Be verbose.", messages=MESSAGES
    )
    assert as_text.id != as_blocks.id
    assert as_text.content == as_blocks.content
    assert as_text.usage == as_blocks.usage
    assert as_text.content != other.content


def test_every_input_block_type_is_accepted(claude: anthropic.Anthropic) -> None:
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    messages: Any = [
        {"role": "assistant", "content": "The conversation may start with me."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": pixel},
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "A short note."},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Hmm.", "signature": "c2ln"},
                {"type": "redacted_thinking", "data": "opaque"},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "Rain."}],
                },
                {"type": "text", "text": "And now?"},
            ],
        },
    ]
    answer = claude.messages.create(
        model="m", max_tokens=256, tools=[WEATHER_TOOL], messages=messages
    )
    assert [block.type for block in answer.content] == ["text"]
    counted = claude.messages.count_tokens(model="m", tools=[WEATHER_TOOL], messages=messages)
    assert counted.input_tokens == answer.usage.input_tokens
    # The document's text reaches the prompt; an image adds nothing the mock can count.
    without_document = [
        messages[0],
        {**messages[1], "content": messages[1]["content"][:2]},
        *messages[2:],
    ]
    fewer = claude.messages.count_tokens(model="m", tools=[WEATHER_TOOL], messages=without_document)
    assert counted.input_tokens - fewer.input_tokens == count_tokens("A short note.")


def test_empty_final_assistant_message_is_allowed(claude: anthropic.Anthropic) -> None:
    answer = claude.messages.create(
        model="m",
        max_tokens=64,
        messages=[*MESSAGES, {"role": "assistant", "content": ""}],
    )
    assert answer.stop_reason == "end_turn"


def test_stop_sequences_and_max_tokens(claude: anthropic.Anthropic) -> None:
    reply = {"mock": {"reply": "alpha beta STOP gamma"}}
    stopped = claude.messages.create(
        model="m",
        max_tokens=64,
        messages=MESSAGES,
        stop_sequences=["STOP", "beta"],
        extra_body=reply,
    )
    # The earliest sequence in the text wins, whatever its place in the list.
    assert stopped.content[0].type == "text"
    assert stopped.content[0].text == "alpha "
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "beta")

    cut = claude.messages.create(
        model="m", max_tokens=2, messages=MESSAGES, stop_sequences=["gamma"], extra_body=reply
    )
    assert cut.content[0].type == "text"
    assert cut.content[0].text == "alpha beta"
    assert (cut.stop_reason, cut.stop_sequence) == ("max_tokens", None)
    assert cut.usage.output_tokens == 2

    warm = claude.messages.create(model="m", max_tokens=0, messages=MESSAGES)
    assert warm.content == []
    assert (warm.stop_reason, warm.usage.output_tokens) == ("max_tokens", 0)


def test_cache_control_counts_cache_reads(claude: anthropic.Anthropic) -> None:
    system = "You answer questions about the mock provider and nothing else."
    plain = claude.messages.create(model="m", max_tokens=64, system=system, messages=MESSAGES)
    cached = claude.messages.create(
        model="m",
        max_tokens=64,
        system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
        messages=MESSAGES,
    )
    assert cached.content == plain.content
    assert plain.usage.cache_read_input_tokens == 0
    assert cached.usage.cache_read_input_tokens == count_tokens(system)
    assert cached.usage.cache_creation_input_tokens == 0
    read = cached.usage.cache_read_input_tokens
    assert cached.usage.input_tokens + read == plain.usage.input_tokens

    # A breakpoint on the last message caches the tools, the system prompt and the messages.
    tool: Any = {**WEATHER_TOOL, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    marked: Any = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Hello, mock!", "cache_control": {"type": "ephemeral"}}
            ],
        }
    ]
    everything = claude.messages.create(
        model="m", max_tokens=64, system=system, tools=[tool], messages=marked
    )
    total = claude.messages.count_tokens(
        model="m", system=system, tools=[WEATHER_TOOL], messages=MESSAGES
    )
    usage = everything.usage
    assert usage.cache_read_input_tokens is not None
    assert usage.cache_read_input_tokens > read
    assert usage.input_tokens + usage.cache_read_input_tokens == total.input_tokens
    automatic = claude.messages.create(
        model="m",
        max_tokens=64,
        system=system,
        tools=[WEATHER_TOOL],
        messages=MESSAGES,
        cache_control={"type": "ephemeral"},
    )
    assert automatic.usage == usage


def test_count_tokens(claude: anthropic.Anthropic) -> None:
    answer = claude.messages.create(model="m", max_tokens=64, messages=MESSAGES)
    counted = claude.messages.count_tokens(model="m", messages=MESSAGES)
    assert counted.input_tokens == answer.usage.input_tokens
    with_tools = claude.messages.count_tokens(model="m", messages=MESSAGES, tools=[WEATHER_TOOL])
    assert with_tools.input_tokens > counted.input_tokens
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.count_tokens(model="m", messages=[])
    assert caught.value.api_message == "messages: at least one message is required"


def test_forced_tools(claude: anthropic.Anthropic) -> None:
    anyone = claude.messages.create(
        model="m",
        max_tokens=256,
        messages=MESSAGES,
        tools=[NOOP_TOOL, WEATHER_TOOL],
        tool_choice={"type": "any"},
    )
    assert anyone.stop_reason == "tool_use"
    [use] = anyone.content
    assert use.type == "tool_use"
    assert (use.name, use.input) == ("noop", {})

    raw = claude.messages.with_raw_response.create(
        model="m",
        max_tokens=256,
        messages=MESSAGES,
        tools=[NOOP_TOOL, WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    named = strict(Message, orjson.loads(raw.http_response.content))
    [use] = named.content
    assert use.type == "tool_use"
    assert use.id.startswith("toolu_")
    assert use.name == "get_weather"
    assert set(use.input) == {"city", "unit", "days"}
    assert (use.input["unit"], use.input["days"]) == ("celsius", 1)
    assert isinstance(use.input["city"], str)
    assert named.stop_reason == "tool_use"
    assert named.usage.output_tokens > 0


def test_auto_and_none_tool_choice_answer_with_text(claude: anthropic.Anthropic) -> None:
    choices: Any = ({"type": "auto"}, {"type": "none"})
    for choice in choices:
        answer = claude.messages.create(
            model="m",
            max_tokens=64,
            messages=MESSAGES,
            tools=[WEATHER_TOOL],
            tool_choice=choice,
        )
        assert [b.type for b in answer.content] == ["text"]
        assert answer.stop_reason == "end_turn"


def test_tool_round_trip_terminates(claude: anthropic.Anthropic) -> None:
    forced: Any = {"type": "tool", "name": "get_weather"}
    first = claude.messages.create(
        model="m", max_tokens=256, messages=MESSAGES, tools=[WEATHER_TOOL], tool_choice=forced
    )
    [use] = first.content
    assert use.type == "tool_use"
    history: Any = [
        *MESSAGES,
        first.to_param(),
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "12 C, rain"}],
        },
    ]
    # Still forced, yet the tool has answered: the mock replies with text, so the loop ends.
    second = claude.messages.create(
        model="m", max_tokens=256, messages=history, tools=[WEATHER_TOOL], tool_choice=forced
    )
    assert second.stop_reason == "end_turn"
    assert [b.type for b in second.content] == ["text"]
    assert second.usage.input_tokens > first.usage.input_tokens


def test_tool_calls_knob(claude: anthropic.Anthropic) -> None:
    knob = {
        "tool_calls": [
            {"name": "lookup", "arguments": {"q": "palisade"}},
            {"name": "fetch", "arguments": '{"url": "x"}'},
        ]
    }
    answer = claude.messages.create(
        model="m", max_tokens=256, messages=MESSAGES, extra_body={"mock": knob}
    )
    assert answer.stop_reason == "tool_use"
    assert [
        (b.type, getattr(b, "name", None), getattr(b, "input", None)) for b in answer.content
    ] == [
        ("tool_use", "lookup", {"q": "palisade"}),
        ("tool_use", "fetch", {"url": "x"}),
    ]
    assert len({getattr(b, "id", None) for b in answer.content}) == 2
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model="m",
            max_tokens=256,
            messages=MESSAGES,
            extra_body={"mock": {"tool_calls": [{"name": "f", "arguments": "[1]"}]}},
        )
    assert caught.value.type == "invalid_request_error"


def test_tool_rounds_let_an_agent_loop_end_in_text(claude: anthropic.Anthropic) -> None:
    # An agent sends the same knobs (a header) on every request of its loop.
    knob = {
        "tool_calls": [{"name": "lookup", "arguments": {"q": "palisade"}}],
        "tool_rounds": 1,
        "reply": "Found it.",
    }
    first = claude.messages.create(
        model="m", max_tokens=256, messages=MESSAGES, extra_body={"mock": knob}
    )
    assert first.stop_reason == "tool_use"
    [call] = first.content
    assert call.type == "tool_use"
    history: Any = [
        *MESSAGES,
        first.to_param(),
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "x"}],
        },
    ]
    second = claude.messages.create(
        model="m", max_tokens=256, messages=history, extra_body={"mock": knob}
    )
    assert second.stop_reason == "end_turn"
    assert [(b.type, getattr(b, "text", None)) for b in second.content] == [("text", "Found it.")]
    # Without `tool_rounds` the knob calls the tool on every turn.
    again = claude.messages.create(
        model="m",
        max_tokens=256,
        messages=history,
        extra_body={"mock": {"tool_calls": knob["tool_calls"]}},
    )
    assert again.stop_reason == "tool_use"


def test_system_messages_mid_conversation(claude: anthropic.Anthropic) -> None:
    # What Claude Code sends to a model it does not know: instructions after the user's turn.
    system: Any = {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    answer = claude.messages.create(
        model="m",
        max_tokens=256,
        messages=[*MESSAGES, system],
        extra_body={"mock": {"reply": "Ok."}},
    )
    assert answer.content[0].type == "text"
    assert answer.content[0].text == "Ok."
    plain = claude.messages.count_tokens(model="m", messages=MESSAGES)
    counted = claude.messages.count_tokens(model="m", messages=[*MESSAGES, system])
    assert counted.input_tokens > plain.input_tokens
    # After a tool result too; the tool round is still answered.
    call: Any = {"type": "tool_use", "id": "toolu_1", "name": "noop", "input": {}}
    result: Any = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"}
    history: Any = [
        *MESSAGES,
        system,
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [result]},
        {"role": "system", "content": "Now summarise."},
    ]
    follow_up = claude.messages.create(
        model="m", max_tokens=256, tools=[NOOP_TOOL], messages=history
    )
    assert follow_up.stop_reason == "end_turn"


def test_thinking_comes_first_with_a_signature(claude: anthropic.Anthropic) -> None:
    raw = claude.messages.with_raw_response.create(
        model="m",
        max_tokens=4096,
        messages=MESSAGES,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    answer = strict(Message, orjson.loads(raw.http_response.content))
    thinking, text = answer.content
    assert thinking.type == "thinking"
    assert thinking.thinking
    assert thinking.signature
    assert text.type == "text"
    assert answer.usage.output_tokens == count_tokens(thinking.thinking) + count_tokens(text.text)
    plain = claude.messages.create(model="m", max_tokens=4096, messages=MESSAGES)
    assert [text] == plain.content

    omitted = claude.messages.create(
        model="m",
        max_tokens=4096,
        messages=MESSAGES,
        thinking={"type": "adaptive", "display": "omitted"},
    )
    hidden = omitted.content[0]
    assert hidden.type == "thinking"
    assert (hidden.thinking, hidden.signature) == ("", thinking.signature)
    assert omitted.usage.output_tokens == answer.usage.output_tokens

    # The thinking block goes back unchanged in the next turn, as the API requires.
    history: Any = [*MESSAGES, answer.to_param(), {"role": "user", "content": "Go on."}]
    follow_up = claude.messages.create(
        model="m",
        max_tokens=4096,
        messages=history,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert [b.type for b in follow_up.content] == ["thinking", "text"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"max_tokens": 5, "messages": MESSAGES}, "model: Field required"),
        ({"model": "m", "messages": MESSAGES}, "max_tokens: Field required"),
        (
            {"model": "m", "max_tokens": "5", "messages": MESSAGES},
            "max_tokens: Input should be a valid integer",
        ),
        ({"model": "m", "max_tokens": 5}, "messages: Field required"),
        (
            {"model": "m", "max_tokens": 5, "messages": []},
            "messages: at least one message is required",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "tool", "content": "x"}]},
            "messages.0.role: Input should be 'user', 'assistant' or 'system'",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
            "messages.0: a system message must follow a user message and come before the next "
            "assistant turn",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [
                    *MESSAGES,
                    {"role": "assistant", "content": "Hi."},
                    {"role": "system", "content": "Be brief."},
                ],
            },
            "messages.2: a system message must follow a user message and come before the next "
            "assistant turn",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [
                    *MESSAGES,
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Go on."},
                ],
            },
            "messages.1: a system message must follow a user message and come before the next "
            "assistant turn",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": ""}]},
            "messages.0: all messages must have non-empty content except for the optional final "
            "assistant message",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}],
            },
            "messages: text content blocks must be non-empty",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [
                    *MESSAGES,
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "f"}],
                    },
                ],
            },
            "messages.1.content.0.input: Field required",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9"}]}
                ],
            },
            "messages.0.content: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. "
            "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
            "message.",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [
                    *MESSAGES,
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "tool_use", "id": "toolu_7", "name": "f", "input": {}}
                        ],
                    },
                    {"role": "user", "content": "Never mind."},
                ],
            },
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
            "toolu_7. Each `tool_use` block must have a corresponding `tool_result` block in the "
            "next message.",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": MESSAGES, "tool_choice": {"type": "auto"}},
            "tool_choice may only be specified while providing tools.",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": MESSAGES, "tools": [{"name": "f"}]},
            "tools.0.input_schema: Field required",
        ),
        (
            {
                "model": "m",
                "max_tokens": 2048,
                "messages": MESSAGES,
                "thinking": {"type": "enabled", "budget_tokens": 100},
            },
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            {
                "model": "m",
                "max_tokens": 1024,
                "messages": MESSAGES,
                "thinking": {"type": "enabled", "budget_tokens": 1024},
            },
            "`max_tokens` must be greater than `thinking.budget_tokens`.",
        ),
        (
            {
                "model": "m",
                "max_tokens": 2048,
                "messages": MESSAGES,
                "tools": [NOOP_TOOL],
                "tool_choice": {"type": "any"},
                "thinking": {"type": "enabled", "budget_tokens": 1024},
            },
            "Thinking may not be enabled when tool_choice forces tool use.",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "system": [
                    {"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}}
                    for i in range(5)
                ],
                "messages": MESSAGES,
            },
            "A maximum of 4 blocks with cache_control may be provided. Found 5.",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": MESSAGES, "mock": {"fail": "404"}},
            "mock.fail must be one of 429, 500, 503, 529, content_filter, context_length, drop, "
            "hang, stream_error",
        ),
    ],
)
async def test_refusals_in_anthropic_format(
    claude_http: aiohttp.ClientSession, body: dict[str, Any], message: str
) -> None:
    async with claude_http.post("/v1/messages", json=body) as response:
        assert response.status == 400
        error = await response.json()
        request_id = response.headers["request-id"]
    assert error == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
        "request_id": request_id,
    }


async def test_body_and_header_refusals(
    claude_http: aiohttp.ClientSession, mock_server_url: str
) -> None:
    async with claude_http.post("/v1/messages", data=b"{not json") as response:
        assert response.status == 400
        assert (await response.json())["error"]["type"] == "invalid_request_error"
    headers = {"x-api-key": "sk-ant-test"}
    async with (
        aiohttp.ClientSession() as bare,
        bare.post(mock_server_url + "/v1/messages", json={}, headers=headers) as response,
    ):
        assert response.status == 400
        error = (await response.json())["error"]
    assert error == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }


def test_sdk_raises_bad_request(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="m", max_tokens=5, messages=[])
    error = caught.value
    assert error.status_code == 400
    assert error.type == "invalid_request_error"
    assert error.request_id is not None
    assert isinstance(error.body, dict)
    assert error.body["request_id"] == error.request_id


async def test_anthropic_requests_are_recorded_byte_for_byte(
    claude_http: aiohttp.ClientSession, http: aiohttp.ClientSession
) -> None:
    async with http.delete("/_mock/requests") as response:
        assert response.status == 200
    # Spacing and key order a re-serialization would lose.
    sent = (
        b'{"model": "claude-haiku-4-5",  "max_tokens": 32,\n'
        b' "system": [{"text": "Cache me \\u00e9", "type": "text",'
        b' "cache_control": {"type": "ephemeral"}}],'
        b' "messages": [{"role": "user", "content": "hi"}]}'
    )
    async with claude_http.post(
        "/v1/messages?beta=true", data=sent, headers={"content-type": "application/json"}
    ) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer["usage"]["cache_read_input_tokens"] == count_tokens("Cache me é")
    async with http.get("/_mock/requests") as response:
        [recorded] = await response.json()
    assert (recorded["method"], recorded["path"], recorded["query"]) == (
        "POST",
        "/v1/messages",
        "beta=true",
    )
    assert base64.b64decode(recorded["raw_base64"]) == sent
    assert recorded["body"] == orjson.loads(sent)
    assert recorded["headers"]["x-api-key"] == "sk-ant-test"
    assert recorded["headers"]["anthropic-version"] == "2023-06-01"
