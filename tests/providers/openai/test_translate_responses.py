"""The Responses API through chat to Anthropic Messages and back: each request rule checked on
both sides against the SDKs' types, answers and every stream event validated by the openai SDK,
and a streamed answer accumulated by the SDK's own Responses stream state, which must give the
whole-answer translation."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx2
import openai
import orjson
import pytest
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseErrorEvent
from openai.types.shared import ErrorObject

from palisade.errors import BadRequest
from palisade.providers.anthropic.translate import (
    THINKING_BUDGETS,
    chat_request_to_messages,
    messages_answer_to_chat,
)
from palisade.providers.base import Event
from palisade.providers.catalog import Translations
from palisade.providers.openai import RESPONSES
from palisade.providers.openai.translate_responses import (
    REDACTED,
    SIGNED,
    ChatStreamToResponses,
    chat_answer_to_responses,
    response_echo,
    responses_request_to_chat,
)
from palisade.providers.translation import Notes
from tests.providers.anthropic import wire
from tests.providers.anthropic.test_translate_stream import ANTHROPIC_EVENTS, anthropic_accumulate

WEATHER = {
    "type": "function",
    "name": "weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
    "strict": True,
}
PNG_URL = "data:image/png;base64,iVBORw0KGgo="


def request(**fields: Any) -> dict[str, Any]:
    return {"model": "claude-test", "max_output_tokens": 100, **fields}


def to_chat(body: dict[str, Any], *, check: bool = True) -> tuple[dict[str, Any], Notes]:
    """Responses -> chat, the input checked against the SDK's request type (and the output too
    when `check`: a body carrying Anthropic's signed thinking uses chat's extensions)."""
    wire.responses_request(body)
    notes: Notes = []
    out = responses_request_to_chat(body, notes)
    if check:
        wire.openai_request(out)
    return out, notes


def to_anthropic(body: dict[str, Any]) -> tuple[dict[str, Any], Notes]:
    """The whole way, as the gateway sends it."""
    wire.responses_request(body)
    translation = Translations().between(RESPONSES, "anthropic")
    out = translation.request(body)
    wire.anthropic_request(out)
    return out, translation.notes


# --- requests ---------------------------------------------------------------------------------


def test_instructions_and_a_string_input() -> None:
    chat, notes = to_chat(request(instructions="Be brief.", input="Say hi."))
    assert chat["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi."},
    ]
    assert chat["max_completion_tokens"] == 100
    assert notes == []
    out, notes = to_anthropic(request(instructions="Be brief.", input="Say hi."))
    assert out["system"] == "Be brief."
    assert out["messages"] == [{"role": "user", "content": "Say hi."}]
    assert out["max_tokens"] == 100
    assert notes == []


def test_message_items_with_text_image_and_file_parts() -> None:
    body = request(
        input=[
            {"role": "developer", "content": "Answer in French."},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": PNG_URL, "detail": "auto"},
                    {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "high"},
                    {
                        "type": "input_file",
                        "file_data": "data:application/pdf;base64,JVBERi0=",
                        "filename": "a.pdf",
                    },
                ],
            },
        ]
    )
    chat, notes = to_chat(body)
    assert chat["messages"][0] == {"role": "developer", "content": "Answer in French."}
    assert chat["messages"][1]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "auto"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "high"}},
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
        },
    ]
    assert notes == []
    out, notes = to_anthropic(body)
    assert out["system"] == "Answer in French."
    assert [b["type"] for b in out["messages"][0]["content"]] == [
        "text",
        "image",
        "image",
        "document",
    ]
    assert out["messages"][0]["content"][1]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": "iVBORw0KGgo=",
    }
    assert notes == ["image_url.detail: no Anthropic equivalent, dropped"]


def test_parts_without_an_equivalent_are_noted() -> None:
    body = request(
        input=[
            {
                "role": "system",
                "content": [
                    {"type": "input_text", "text": "Rules."},
                    {"type": "input_image", "image_url": PNG_URL, "detail": "auto"},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "input_image", "file_id": "file-1", "detail": "auto"},
                    {"type": "input_file", "file_url": "https://x.test/a.pdf"},
                    {"type": "input_text", "text": "hi"},
                ],
            },
        ]
    )
    chat, notes = to_chat(body)
    assert chat["messages"] == [
        {"role": "system", "content": "Rules."},
        {"role": "user", "content": "hi"},
    ]
    assert notes == [
        "system content part 'input_image': text only, dropped",
        "input_image.file_id: no equivalent, dropped",
        "input_file.file_url: no equivalent, dropped",
    ]


def test_a_prompt_cache_breakpoint_becomes_cache_control() -> None:
    body = request(
        input=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_text",
                        "text": "A long document.",
                        "prompt_cache_breakpoint": {"mode": "explicit", "ttl": "30m"},
                    },
                    {"type": "input_text", "text": "Summarise it."},
                ],
            }
        ]
    )
    out, notes = to_anthropic(body)
    assert out["messages"][0]["content"][0] == {
        "type": "text",
        "text": "A long document.",
        "cache_control": {"type": "ephemeral"},
    }
    assert notes == ["prompt_cache_breakpoint.ttl: the provider's default applies"]


def test_a_tool_round_trip_in_input_items() -> None:
    body = request(
        tools=[WEATHER],
        input=[
            {"role": "user", "content": "Weather in Oslo and Rome?"},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Checking.", "annotations": [], "logprobs": []}
                ],
            },
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "toolu_A",
                "name": "weather",
                "arguments": '{"city":"Oslo"}',
                "status": "completed",
            },
            {
                "type": "function_call",
                "call_id": "toolu_B",
                "name": "weather",
                "arguments": '{"city":"Rome"}',
            },
            {"type": "function_call_output", "call_id": "toolu_A", "output": "Snow"},
            {
                "type": "function_call_output",
                "call_id": "toolu_B",
                "output": [{"type": "input_text", "text": "Sun"}],
            },
        ],
    )
    chat, notes = to_chat(body)
    assert chat["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "toolu_A",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                },
                {
                    "id": "toolu_B",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_A", "content": "Snow"},
        {"role": "tool", "tool_call_id": "toolu_B", "content": [{"type": "text", "text": "Sun"}]},
    ]
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "The weather in a city.",
                "parameters": WEATHER["parameters"],
                "strict": True,
            },
        }
    ]
    assert notes == []
    out, _ = to_anthropic(body)
    assert out["messages"][1]["content"][1:] == [
        {"type": "tool_use", "id": "toolu_A", "name": "weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "toolu_B", "name": "weather", "input": {"city": "Rome"}},
    ]
    assert out["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_A", "content": "Snow"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_B",
                "content": [{"type": "text", "text": "Sun"}],
            },
        ],
    }


def test_a_function_call_without_text_opens_its_assistant_turn() -> None:
    chat, _ = to_chat(
        request(
            tools=[WEATHER],
            input=[
                {"role": "user", "content": "Oslo?"},
                {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "Snow"},
            ],
        )
    )
    assert chat["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
        ],
    }


@pytest.mark.parametrize(
    ("choice", "chat_choice", "anthropic_choice"),
    [
        ("auto", "auto", {"type": "auto"}),
        ("required", "required", {"type": "any"}),
        ("none", "none", {"type": "none"}),
        (
            {"type": "function", "name": "weather"},
            {"type": "function", "function": {"name": "weather"}},
            {"type": "tool", "name": "weather"},
        ),
    ],
)
def test_tool_choice(choice: Any, chat_choice: Any, anthropic_choice: Any) -> None:
    body = request(input="Oslo?", tools=[WEATHER], tool_choice=choice)
    chat, _ = to_chat(body)
    assert chat["tool_choice"] == chat_choice
    out, _ = to_anthropic(body)
    assert out["tool_choice"] == anthropic_choice


def test_parallel_tool_calls_false() -> None:
    out, _ = to_anthropic(request(input="x", tools=[WEATHER], parallel_tool_calls=False))
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_tools_without_an_equivalent_are_noted_and_their_choice_goes_too() -> None:
    chat, notes = to_chat(
        request(input="x", tools=[{"type": "web_search"}], tool_choice="required")
    )
    assert "tools" not in chat
    assert "tool_choice" not in chat
    assert notes == [
        "tools: 'web_search' tools have no equivalent, dropped",
        "tool_choice: no function tool to choose from, dropped",
    ]
    _, notes = to_chat(
        request(input="x", tools=[{**WEATHER, "defer_loading": True}], tool_choice="auto")
    )
    assert notes == ["tools[].defer_loading: no equivalent, dropped"]


def test_item_and_tool_keys_without_an_equivalent_are_noted() -> None:
    call = {
        "type": "function_call",
        "call_id": "c1",
        "name": "weather",
        "arguments": "{}",
        "parsed_arguments": {},  # what a ParsedResponse's items carry back
    }
    notes: Notes = []
    responses_request_to_chat(
        request(
            input=[call, {"type": "function_call_output", "call_id": "c1", "output": "ok"}],
            tools=[{"type": "function", "name": "f", "parameters": None, "defer_loading": True}],
        ),
        notes,
    )
    assert notes == [
        "function_call.parsed_arguments: no equivalent, dropped",
        "tools[].defer_loading: no equivalent, dropped",
    ]


def test_sampling_reasoning_and_structured_output() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    body = request(
        input="x",
        max_output_tokens=20000,
        temperature=0.5,
        top_p=0.9,
        reasoning={"effort": "medium", "summary": "auto"},
        text={
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True},
            "verbosity": "low",
        },
    )
    chat, notes = to_chat(body)
    assert chat["max_completion_tokens"] == 20000
    assert (chat["temperature"], chat["top_p"]) == (0.5, 0.9)
    assert chat["reasoning_effort"] == "medium"
    assert chat["verbosity"] == "low"
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    assert notes == ["reasoning.summary: no equivalent (reasoning comes back whole), dropped"]
    out, notes = to_anthropic(body)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": THINKING_BUDGETS["medium"]}
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "verbosity: no Anthropic equivalent, dropped" in notes


def test_a_stream_asks_for_usage() -> None:
    chat, _ = to_chat(request(input="x", stream=True))
    assert chat["stream"] is True
    assert chat["stream_options"] == {"include_usage": True}
    out, notes = to_anthropic(request(input="x", stream=True))
    assert out["stream"] is True
    assert notes == []


def test_identity_fields_and_those_without_an_equivalent() -> None:
    body = request(
        input="x",
        user="u-1",
        metadata={"team": "a"},
        store=True,
        include=["reasoning.encrypted_content", "message.output_text.logprobs"],
        truncation="auto",
        stream_options={"include_obfuscation": True},
        stream=True,
    )
    out, notes = to_anthropic(body)
    assert out["metadata"] == {"user_id": "u-1"}
    assert notes == [
        "stream_options.include_obfuscation: no equivalent, dropped",
        "include: 'message.output_text.logprobs' has no equivalent, dropped",
        "store: the gateway stores no response, not stored",
        "truncation: the provider refuses a prompt too long instead of truncating it",
        "metadata: no Anthropic equivalent, dropped",
    ]
    # Defaults change nothing: no note.
    _, notes = to_chat(request(input="x", store=False, truncation="disabled"))
    assert notes == []
    # A field the SDK does not know (the mock's knobs) is named, not silently lost.
    notes = []
    responses_request_to_chat({"model": "m", "input": "x", "mock": {}}, notes)
    assert notes == ["mock: unknown field, dropped"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("previous_response_id", "resp_123"),
        ("conversation", "conv_123"),
        ("prompt", {"id": "pmpt_123"}),
        ("background", True),
    ],
)
def test_stored_state_is_refused_clearly(field: str, value: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        responses_request_to_chat(request(input="x", **{field: value}), [])
    assert caught.value.code == "translation_unavailable"
    assert caught.value.param == field
    assert f"`{field}` cannot be translated" in caught.value.message
    assert "keeps no state" in caught.value.message


def test_an_item_reference_is_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        responses_request_to_chat(request(input=[{"type": "item_reference", "id": "msg_1"}]), [])
    assert caught.value.code == "translation_unavailable"


# --- answers ----------------------------------------------------------------------------------

ECHO_REQUEST = request(
    instructions="Be brief.",
    input="Weather?",
    tools=[WEATHER],
    tool_choice="auto",
    temperature=0.2,
    metadata={"k": "v"},
)


def anthropic_answer(*content: dict[str, Any], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01ABC",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": list(content),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 7,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 5,
            "output_tokens_details": {"thinking_tokens": 3},
        },
    }


def answer(obj: dict[str, Any], body: dict[str, Any] = ECHO_REQUEST) -> Response:
    translation = Translations().between(RESPONSES, "anthropic")
    translation.request(body)
    return wire.openai_response(translation.answer(obj))


def test_a_text_answer_with_usage() -> None:
    response = answer(anthropic_answer({"type": "text", "text": "Sunny."}))
    assert response.id == "resp_01ABC"
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == "claude-test"
    assert response.output_text == "Sunny."
    [message] = response.output
    assert message.type == "message"
    assert message.id == "msg_01ABC"
    assert message.status == "completed"
    usage = response.usage
    assert usage is not None
    assert usage.input_tokens == 115  # cached tokens included, as OpenAI counts them
    assert usage.input_tokens_details.cached_tokens == 100
    assert usage.input_tokens_details.cache_write_tokens == 5
    assert usage.output_tokens == 7
    assert usage.output_tokens_details.reasoning_tokens == 3
    assert usage.total_tokens == 122
    # The request's settings are repeated, as OpenAI's responses do.
    assert response.instructions == "Be brief."
    assert response.temperature == 0.2
    assert response.metadata == {"k": "v"}
    assert response.tool_choice == "auto"
    assert [t.model_dump(exclude_none=True) for t in response.tools] == [WEATHER]
    assert response.incomplete_details is None


def test_tool_use_becomes_function_call_items() -> None:
    response = answer(
        anthropic_answer(
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_A", "name": "weather", "input": {"city": "Oslo"}},
            stop="tool_use",
        )
    )
    message, call = response.output
    assert message.type == "message"
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.id) == ("toolu_A", "weather", "fc_01ABC_0")
    assert json.loads(call.arguments) == {"city": "Oslo"}
    assert call.status == "completed"
    assert response.status == "completed"


@pytest.mark.parametrize(
    ("stop", "reason"), [("max_tokens", "max_output_tokens"), ("refusal", "content_filter")]
)
def test_a_cut_answer_is_incomplete(stop: str, reason: str) -> None:
    response = answer(anthropic_answer({"type": "text", "text": "Once upon"}, stop=stop))
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == reason
    assert response.output[0].status == "incomplete"  # type: ignore[union-attr]


def test_thinking_becomes_reasoning_items_that_come_back_signed() -> None:
    obj = anthropic_answer(
        {"type": "thinking", "thinking": "Hmm.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "tool_use", "id": "toolu_A", "name": "weather", "input": {"city": "Oslo"}},
        stop="tool_use",
    )
    response = answer(obj)
    first, second, _call = response.output
    assert first.type == "reasoning"
    assert second.type == "reasoning"
    assert first.content is not None
    assert first.content[0].text == "Hmm."
    assert first.encrypted_content == SIGNED + "sig-1"
    assert second.content is None
    assert second.encrypted_content == REDACTED + "opaque"
    assert first.id != second.id

    # The client sends the output back with the tool's result, as the SDK's docs show.
    items = [item.model_dump(exclude_none=True) for item in response.output]
    body = request(
        tools=[WEATHER],
        reasoning={"effort": "low"},
        input=[
            {"role": "user", "content": "Oslo?"},
            *items,
            {"type": "function_call_output", "call_id": "toolu_A", "output": "Snow"},
        ],
        max_output_tokens=4000,
    )
    out, notes = to_anthropic(body)
    assert out["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Hmm.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "tool_use", "id": "toolu_A", "name": "weather", "input": {"city": "Oslo"}},
    ]
    assert notes == []


def test_another_providers_reasoning_is_noted() -> None:
    reasoning = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "Thought."}],
        "encrypted_content": "gAAAA-openai",
    }
    body = request(input=[{"role": "user", "content": "x"}, reasoning])
    chat, notes = to_chat(body)
    assert chat["messages"][1] == {
        "role": "assistant",
        "content": None,
        "reasoning_content": "Thought.",
    }
    assert notes == ["reasoning.encrypted_content: another provider's, dropped"]
    _, notes = to_anthropic(body)
    assert notes[-1].startswith("reasoning_content: Anthropic accepts only signed")


def test_errors_keep_the_openai_format() -> None:
    body = orjson.dumps(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    error = orjson.loads(Translations().between(RESPONSES, "anthropic").error(529, body))["error"]
    ErrorObject.model_validate(error)
    assert error["message"] == "Overloaded"
    assert error["code"] == "overloaded_error"
    assert error["type"] == "service_unavailable_error"


# --- streams ----------------------------------------------------------------------------------


def translate_stream(
    events: list[tuple[str, dict[str, Any]]],
    body: dict[str, Any] | None = None,
    *,
    end: bool = True,
) -> list[Event]:
    translation = Translations().between(RESPONSES, "anthropic")
    translation.request(body or request(input="x", stream=True, tools=[WEATHER]))
    out: list[Event] = []
    for event in copy.deepcopy(events):
        out.extend(translation.stream(event))
    if end:
        out.extend(translation.finish())
    return out


def accumulate(events: list[Event]) -> Response:
    """Every event validated by the SDK and fed to its own Responses stream state."""
    state: ResponseStreamState[None] = ResponseStreamState(input_tools=omit, text_format=omit)
    for number, (name, data) in enumerate(events):
        assert data["sequence_number"] == number
        state.handle_event(wire.openai_response_event(name, data))
    final = state._completed_response
    assert final is not None, "no response.completed"
    return Response.model_validate(final.model_dump(exclude={"output_parsed"}))


def comparable(response: Response) -> dict[str, Any]:
    out = response.model_dump(exclude={"created_at", "completed_at"})
    for item in out["output"]:
        item.pop("parsed_arguments", None)
        if item["type"] == "function_call":
            item["arguments"] = json.loads(item["arguments"])
        for part in item.get("content") or ():
            part.pop("parsed", None)
    return out


def test_a_stream_accumulates_to_the_whole_answer_translation() -> None:
    body = request(input="x", stream=True, tools=[WEATHER])
    events = translate_stream(ANTHROPIC_EVENTS, body)
    streamed = accumulate(events)
    whole = answer(anthropic_accumulate(ANTHROPIC_EVENTS).model_dump(), body)
    assert comparable(streamed) == comparable(whole)
    assert [item.type for item in streamed.output] == [
        "reasoning",
        "message",
        "function_call",
        "function_call",
    ]
    assert streamed.usage is not None
    assert streamed.usage.output_tokens == 89
    assert streamed.usage.input_tokens == 125
    assert events[-1][0] == "response.completed"


def text_stream(
    *pieces: str, stop: str = "end_turn", index: int = 0
) -> list[tuple[str, dict[str, Any]]]:
    start = anthropic_answer()
    start.update(stop_reason=None, usage={"input_tokens": 4, "output_tokens": 1})
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    for piece in pieces:
        delta = {"type": "text_delta", "text": piece}
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def test_a_text_stream_is_the_event_sequence_openai_sends() -> None:
    events = translate_stream(text_stream("Hello", " world."))
    assert [name for name, _ in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    final = accumulate(events)
    assert final.output_text == "Hello world."
    assert final.usage is not None
    assert final.usage.output_tokens == 5
    created = events[0][1]["response"]
    assert created["status"] == "in_progress"
    assert created["usage"] is None
    assert created["id"] == final.id == "resp_01ABC"


def test_framed_events_through_the_openai_sdk() -> None:
    """The bytes a client gets (the Responses surface's framing) read by the SDK itself."""
    events = translate_stream(text_stream("Hello", " world."))
    stream = b"".join(RESPONSES.frame(event) for event in events)

    def handler(_: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=stream, headers={"content-type": "text/event-stream"})

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    with (
        openai.OpenAI(api_key="k", base_url="http://gw.test/v1", http_client=http) as client,
        client.responses.stream(model="claude-test", input="x") as events_in,
    ):
        deltas = "".join(e.delta for e in events_in if e.type == "response.output_text.delta")
        final = events_in.get_final_response()
    assert deltas == final.output_text == "Hello world."


def test_a_stream_cut_by_max_tokens_is_incomplete() -> None:
    events = translate_stream(text_stream("Once", stop="max_tokens"))
    name, data = events[-1]
    assert name == "response.incomplete"
    wire.openai_response_event(name, data)
    assert data["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert data["response"]["output"][0]["status"] == "incomplete"


def test_an_upstream_error_ends_the_stream_with_an_error_event_the_sdk_raises() -> None:
    events = text_stream("Hel")[:3]
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    out = translate_stream([*events, ("error", error)])
    name, data = out[-1]
    assert name == "error"
    event = wire.openai_response_event(name, data)
    assert isinstance(event, ResponseErrorEvent)
    assert event.message == "Overloaded"
    assert event.code == "overloaded_error"
    stream = b"".join(RESPONSES.frame(e) for e in out)
    http = httpx2.Client(
        transport=httpx2.MockTransport(
            lambda _: httpx2.Response(
                200, content=stream, headers={"content-type": "text/event-stream"}
            )
        )
    )
    with (
        openai.OpenAI(api_key="k", base_url="http://gw.test/v1", http_client=http) as client,
        pytest.raises(openai.APIError, match="Overloaded"),
    ):
        list(client.responses.create(model="claude-test", input="x", stream=True))


def test_a_stream_that_ends_after_its_stop_reason_still_completes() -> None:
    events = translate_stream(text_stream("Hi")[:-1])  # no message_stop
    name, data = events[-1]
    assert name == "response.completed"
    assert data["response"]["usage"]["output_tokens"] == 5
    accumulate(events)


def test_a_stream_that_breaks_off_ends_in_an_error_event() -> None:
    events = translate_stream(text_stream("Hi")[:3])
    name, data = events[-1]
    assert name == "error"
    wire.openai_response_event(name, data)
    assert data["code"] == "upstream_stream_interrupted"


def test_redacted_and_signed_thinking_in_a_stream() -> None:
    start = anthropic_answer()
    start.update(stop_reason=None)
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "redacted_thinking", "data": "opaque"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "signature_delta", "signature": "s"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        *text_stream("Done.", index=2)[1:],
    ]
    out = translate_stream(events, {**ECHO_REQUEST, "stream": True})
    streamed = accumulate(out)
    whole = answer(anthropic_accumulate(events).model_dump())
    assert comparable(streamed) == comparable(whole)
    first, second, _ = streamed.output
    assert first.type == "reasoning"
    assert first.encrypted_content == REDACTED + "opaque"
    assert second.type == "reasoning"
    assert second.encrypted_content == SIGNED + "s"


# --- chat streams in general (any chat provider) ----------------------------------------------


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def feed_chat(*chunks: dict[str, Any] | str) -> list[Event]:
    translator = ChatStreamToResponses(response_echo(request(input="x")))
    out: list[Event] = []
    for c in chunks:
        out.extend(translator.feed(c))
    return out


def test_a_refusal_after_text_is_a_second_part_of_the_message() -> None:
    events = feed_chat(
        chunk({"role": "assistant", "content": "I"}),
        chunk({"refusal": "can't."}),
        chunk({}, "stop"),
        "[DONE]",
    )
    final = accumulate(events)
    [message] = final.output
    assert message.type == "message"
    assert [p.type for p in message.content] == ["output_text", "refusal"]
    assert "response.refusal.done" in [name for name, _ in events]


def test_reasoning_content_then_text_then_a_call() -> None:
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}
    events = feed_chat(
        chunk({"role": "assistant", "reasoning_content": "Think."}),
        chunk({"content": "Ok."}),
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
        chunk({}, "tool_calls"),
        {**chunk({}), "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
        "[DONE]",
    )
    final = accumulate(events)
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.output[2].arguments == '{"a":1}'  # type: ignore[union-attr]
    assert final.usage is not None
    assert final.usage.total_tokens == 7
    whole = chat_answer_to_responses(
        {
            "id": "chatcmpl-9",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": "Ok.",
                        "reasoning_content": "Think.",
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "f", "arguments": '{"a":1}'},
                            }
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4},
        },
        response_echo(request(input="x")),
    )
    assert comparable(final) == comparable(wire.openai_response(whole))


def test_parallel_calls_close_one_after_the_other_and_a_late_piece_is_kept() -> None:
    first = {"index": 0, "id": "c0", "function": {"name": "f", "arguments": "{"}}
    second = {"index": 1, "id": "c1", "function": {"name": "g", "arguments": "{}"}}
    events = feed_chat(
        chunk({"role": "assistant", "tool_calls": [first]}),
        chunk({"tool_calls": [second]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
        chunk({}, "tool_calls"),
        "[DONE]",
    )
    kinds = [(name, data.get("output_index")) for name, data in events]
    assert kinds.index(("response.output_item.done", 0)) < kinds.index(
        ("response.output_item.added", 1)
    )
    final = accumulate(events)
    assert [item.arguments for item in final.output] == ["{}", "{}"]  # type: ignore[union-attr]


def test_nothing_after_the_end() -> None:
    translator = ChatStreamToResponses(response_echo(request(input="x")))
    translator.feed(chunk({"content": "a"}, "stop"))
    assert translator.feed("[DONE]")[-1][0] == "response.completed"
    assert translator.feed(chunk({"content": "b"})) == []
    assert translator.finish() == []


def test_the_chat_step_matches_chat_request_to_messages_input() -> None:
    """What the Responses step writes is what the chat step reads: no field is lost between."""
    body = request(input="x", user="u", tools=[WEATHER], tool_choice="required", stream=True)
    chat, _ = to_chat(body)
    notes: Notes = []
    chat_request_to_messages(chat, notes)
    assert notes == []


def test_whole_answers_validate_without_an_echo_of_tools() -> None:
    chat = messages_answer_to_chat(anthropic_answer({"type": "text", "text": "x"}))
    response = wire.openai_response(chat_answer_to_responses(chat, response_echo({"input": "x"})))
    assert response.tools == []
    assert response.tool_choice == "auto"
    assert response.parallel_tool_calls is True
