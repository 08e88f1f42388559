from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic.types.shared import ErrorResponse
from openai.types.shared import ErrorObject

from palisade.providers.anthropic.translate import (
    DEFAULT_MAX_TOKENS,
    THINKING_BUDGETS,
    chat_answer_to_messages,
    chat_error_to_messages,
    chat_request_to_messages,
    drop_sampling,
    messages_answer_to_chat,
    messages_error_to_chat,
    messages_request_to_chat,
)
from palisade.providers.translation import Notes
from tests.providers.anthropic import wire

PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
    "hQGAhKmMIQAAAABJRU5ErkJggg=="
)
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def to_messages(body: dict[str, Any], *, check_input: bool = True) -> tuple[dict[str, Any], Notes]:
    """OpenAI request -> Anthropic request, both sides checked against the SDKs' types."""
    if check_input:
        wire.openai_request(body)
    notes: Notes = []
    out = chat_request_to_messages(body, notes)
    wire.anthropic_request(out)
    return out, notes


def to_chat(body: dict[str, Any]) -> tuple[dict[str, Any], Notes]:
    wire.anthropic_request(body)
    notes: Notes = []
    out = messages_request_to_chat(body, notes)
    wire.openai_request(out)
    return out, notes


def chat(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-test", "messages": list(messages), "max_tokens": 100, **fields}


def anthropic(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-test", "messages": list(messages), "max_tokens": 100, **fields}


USER = {"role": "user", "content": "hi"}
A_USER = {"role": "user", "content": "hi"}


# --- system -----------------------------------------------------------------------------------


def test_one_system_string_stays_a_string() -> None:
    out, notes = to_messages(chat({"role": "system", "content": "be brief"}, USER))
    assert out["system"] == "be brief"
    assert out["messages"] == [{"role": "user", "content": "hi"}]
    assert notes == []


def test_system_and_developer_messages_become_blocks_in_order() -> None:
    out, notes = to_messages(
        chat(
            {"role": "system", "content": "one"},
            {"role": "developer", "content": [{"type": "text", "text": "two"}]},
            USER,
            {"role": "system", "content": "three"},
        )
    )
    assert out["system"] == [
        {"type": "text", "text": "one"},
        {"type": "text", "text": "two"},
        {"type": "text", "text": "three"},
    ]
    assert out["messages"] == [{"role": "user", "content": "hi"}]
    assert any("moved into `system`" in n for n in notes)


def test_system_to_chat_string_and_blocks() -> None:
    out, notes = to_chat(anthropic(A_USER, system="be brief"))
    assert out["messages"][0] == {"role": "system", "content": "be brief"}
    out, notes = to_chat(
        anthropic(
            A_USER,
            system=[
                {"type": "text", "text": "one"},
                {"type": "text", "text": "two", "cache_control": {"type": "ephemeral"}},
            ],
        )
    )
    assert out["messages"][0] == {"role": "system", "content": "one\n\ntwo"}
    assert "cache_control: Anthropic-only, dropped" in notes


def test_anthropic_system_message_inside_messages_stays_in_place() -> None:
    out, notes = to_chat(
        anthropic(
            A_USER,
            {"role": "assistant", "content": "ok"},
            A_USER,
            {"role": "system", "content": [{"type": "text", "text": "reminder"}]},
        )
    )
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user", "system"]
    assert out["messages"][3]["content"] == "reminder"
    assert notes == []


# --- user content and images ------------------------------------------------------------------


def test_user_parts_and_images_to_messages() -> None:
    out, notes = to_messages(
        chat(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            }
        )
    )
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]
    assert notes == []


def test_image_detail_and_audio_are_noted() -> None:
    out, notes = to_messages(
        chat(
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://e.com/a.png", "detail": "high"},
                    },
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                ],
            }
        )
    )
    assert len(out["messages"][0]["content"]) == 1
    assert "image_url.detail: no Anthropic equivalent, dropped" in notes
    assert any("input_audio" in n for n in notes)


def test_pdf_file_part_round_trips_as_a_document() -> None:
    part = {
        "type": "file",
        "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
    }
    out, _ = to_messages(chat({"role": "user", "content": [part]}))
    assert out["messages"][0]["content"] == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
            "title": "a.pdf",
        }
    ]
    back, _ = to_chat(out)
    assert back["messages"][0]["content"] == [part]


def test_user_blocks_and_images_to_chat() -> None:
    out, notes = to_chat(
        anthropic(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://e.com/a.png"}},
                ],
            }
        )
    )
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                {"type": "image_url", "image_url": {"url": "https://e.com/a.png"}},
            ],
        }
    ]
    assert notes == []


def test_a_lone_text_block_becomes_a_string() -> None:
    out, _ = to_chat(anthropic({"role": "user", "content": [{"type": "text", "text": "hi"}]}))
    assert out["messages"] == [{"role": "user", "content": "hi"}]


# --- tools, tool calls, tool results ----------------------------------------------------------

CHAT_CONVERSATION: list[dict[str, Any]] = [
    {"role": "user", "content": "weather in Paris and Rome?"},
    {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "rain"}]},
    {"role": "user", "content": "and tomorrow?"},
]
ANTHROPIC_CONVERSATION: list[dict[str, Any]] = [
    {"role": "user", "content": "weather in Paris and Rome?"},
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "weather", "input": {"city": "Rome"}},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
            {
                "type": "tool_result",
                "tool_use_id": "call_2",
                "content": [{"type": "text", "text": "rain"}],
            },
            {"type": "text", "text": "and tomorrow?"},
        ],
    },
]


def test_multi_turn_tool_calls_to_messages() -> None:
    out, notes = to_messages(chat(*CHAT_CONVERSATION))
    assert out["messages"] == ANTHROPIC_CONVERSATION
    assert notes == []


def test_multi_turn_tool_calls_to_chat() -> None:
    out, notes = to_chat(anthropic(*ANTHROPIC_CONVERSATION))
    expected = [dict(m) for m in CHAT_CONVERSATION]
    expected[3] = {"role": "tool", "tool_call_id": "call_2", "content": "rain"}
    assert out["messages"] == expected
    assert notes == []


def test_tool_messages_without_a_following_user_message_stay_one_turn() -> None:
    out, _ = to_messages(chat(*CHAT_CONVERSATION[:4], {"role": "assistant", "content": "done"}))
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user", "assistant"]
    assert [b["type"] for b in out["messages"][2]["content"]] == ["tool_result", "tool_result"]


def test_tool_result_images_and_errors_to_chat() -> None:
    out, notes = to_chat(
        anthropic(
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "a"},
                            {"type": "text", "text": "b"},
                            {
                                "type": "image",
                                "source": {"type": "url", "url": "https://e.com/s.png"},
                            },
                        ],
                    }
                ],
            },
        )
    )
    assert out["messages"][1:] == [
        {"role": "tool", "tool_call_id": "t1", "content": "a\n\nb"},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://e.com/s.png"}}],
        },
    ]
    assert "tool_result.is_error: no OpenAI equivalent, dropped" in notes
    assert any("tool_result images" in n for n in notes)


def test_tool_arguments_that_are_not_an_object_are_noted() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1, 2"}}
    out, notes = to_messages(
        chat(USER, {"role": "assistant", "content": None, "tool_calls": [call]})
    )
    assert out["messages"][1]["content"][0]["input"] == {}
    assert any("not a JSON object" in n for n in notes)


def test_tools_and_parameters() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "the weather",
                "parameters": WEATHER_SCHEMA,
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "now"}},
    ]
    out, notes = to_messages(chat(USER, tools=tools))
    assert out["tools"] == [
        {
            "name": "weather",
            "input_schema": WEATHER_SCHEMA,
            "description": "the weather",
            "strict": True,
        },
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]
    back, _ = to_chat(out)
    assert back["tools"][0] == tools[0]
    assert back["tools"][1]["function"]["parameters"] == {"type": "object", "properties": {}}
    assert notes == []


@pytest.mark.parametrize(
    ("openai_choice", "anthropic_choice"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        (
            {"type": "function", "function": {"name": "weather"}},
            {"type": "tool", "name": "weather"},
        ),
    ],
)
def test_tool_choice_both_ways(openai_choice: Any, anthropic_choice: dict[str, Any]) -> None:
    tools = [{"type": "function", "function": {"name": "weather", "parameters": WEATHER_SCHEMA}}]
    out, _ = to_messages(chat(USER, tools=tools, tool_choice=openai_choice))
    assert out["tool_choice"] == anthropic_choice
    back, _ = to_chat(out)
    assert back["tool_choice"] == openai_choice


def test_parallel_tool_calls_false_both_ways() -> None:
    tools = [{"type": "function", "function": {"name": "weather", "parameters": WEATHER_SCHEMA}}]
    out, _ = to_messages(chat(USER, tools=tools, parallel_tool_calls=False))
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    back, _ = to_chat(out)
    assert back["tool_choice"] == "auto"
    assert back["parallel_tool_calls"] is False
    out, _ = to_messages(chat(USER, tools=tools, tool_choice="required", parallel_tool_calls=False))
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_server_tools_and_orphan_tool_choice_are_noted() -> None:
    out, notes = to_chat(
        anthropic(
            A_USER,
            tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
            tool_choice={"type": "any"},
        )
    )
    assert "tools" not in out
    assert "tool_choice" not in out
    assert any("web_search_20250305" in n for n in notes)
    assert "tool_choice: no tool left to choose from, dropped" in notes


# --- sampling, limits, metadata, streaming ----------------------------------------------------


def test_stop_both_ways() -> None:
    out, _ = to_messages(chat(USER, stop="END"))
    assert out["stop_sequences"] == ["END"]
    out, _ = to_messages(chat(USER, stop=["a", "b"]))
    assert out["stop_sequences"] == ["a", "b"]
    back, _ = to_chat(out)
    assert back["stop"] == ["a", "b"]


def test_max_tokens_default_is_noted() -> None:
    body = chat(USER)
    del body["max_tokens"]
    out, notes = to_messages(body)
    assert out["max_tokens"] == DEFAULT_MAX_TOKENS
    assert any(n.startswith("max_tokens: required by Anthropic") for n in notes)


def test_max_completion_tokens_wins_and_comes_back() -> None:
    out, notes = to_messages(chat(USER, max_completion_tokens=300))
    assert out["max_tokens"] == 300
    assert any("max_completion_tokens is also set" in n for n in notes)
    back, _ = to_chat(out)
    assert back["max_completion_tokens"] == 300
    assert "max_tokens" not in back


def test_sampling_user_and_stream() -> None:
    out, notes = to_messages(
        chat(
            USER,
            temperature=0.2,
            top_p=0.9,
            user="u-1",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert (out["temperature"], out["top_p"], out["metadata"], out["stream"]) == (
        0.2,
        0.9,
        {"user_id": "u-1"},
        True,
    )
    assert notes == []
    back, notes = to_chat(out)
    assert (back["temperature"], back["top_p"], back["user"], back["stream"]) == (
        0.2,
        0.9,
        "u-1",
        True,
    )
    assert back["stream_options"] == {"include_usage": True}
    assert notes == []


def test_temperature_above_one_is_capped() -> None:
    out, notes = to_messages(chat(USER, temperature=1.5))
    assert out["temperature"] == 1
    assert any("temperature" in n for n in notes)


def test_drop_sampling_for_models_that_refuse_it() -> None:
    out, _ = to_messages(chat(USER, temperature=0.2, top_p=0.9))
    notes: Notes = []
    stripped = drop_sampling(out, notes)
    assert "temperature" not in stripped
    assert "top_p" not in stripped
    assert out["temperature"] == 0.2  # the input is left alone
    assert notes == [
        "temperature: not accepted by this model, dropped",
        "top_p: not accepted by this model, dropped",
    ]
    assert drop_sampling(stripped, notes) is stripped


def test_safety_identifier_is_the_user_when_user_is_absent() -> None:
    out, _ = to_messages(chat(USER, safety_identifier="hash-1"))
    assert out["metadata"] == {"user_id": "hash-1"}


def test_fields_without_equivalent_are_noted_unless_default() -> None:
    _, notes = to_messages(
        chat(
            USER,
            n=2,
            logprobs=True,
            top_logprobs=3,
            seed=7,
            presence_penalty=0.5,
            frequency_penalty=0,
            logit_bias={"50256": -100},
            response_format={"type": "json_object"},
        )
    )
    for field in ("n", "logprobs", "top_logprobs", "seed", "presence_penalty", "logit_bias"):
        assert f"{field}: no Anthropic equivalent, dropped" in notes
    assert not any(n.startswith("frequency_penalty") for n in notes)
    assert "response_format: json_object has no Anthropic equivalent, dropped" in notes
    _, notes = to_messages(chat(USER, n=1, logprobs=False, presence_penalty=0))
    assert notes == []


def test_unknown_fields_are_noted_both_ways() -> None:
    notes: Notes = []
    out = chat_request_to_messages(chat(USER, frobnicate=1), notes)
    assert "frobnicate" not in out
    assert notes == ["frobnicate: unknown field, dropped"]
    notes = []
    out = messages_request_to_chat(anthropic(A_USER, top_k=5, container="c-1"), notes)
    assert "top_k" not in out
    assert "container" not in out
    assert notes == ["top_k: no OpenAI equivalent, dropped", "container: unknown field, dropped"]


def test_cache_control_is_kept_towards_anthropic_and_dropped_back() -> None:
    part = {"type": "text", "text": "long context", "cache_control": {"type": "ephemeral"}}
    # `cache_control` on an OpenAI part is LiteLLM's extension, not in the OpenAI SDK.
    out, _ = to_messages(chat({"role": "user", "content": [part]}), check_input=False)
    assert out["messages"][0]["content"] == [part]
    back, notes = to_chat(out)
    assert back["messages"][0] == {"role": "user", "content": "long context"}
    assert notes == ["cache_control: Anthropic-only, dropped"]


def test_response_format_json_schema_both_ways() -> None:
    rf = {
        "type": "json_schema",
        "json_schema": {"name": "w", "schema": WEATHER_SCHEMA, "strict": True},
    }
    out, notes = to_messages(chat(USER, response_format=rf))
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": WEATHER_SCHEMA}}
    assert notes == []
    back, _ = to_chat(out)
    assert back["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": WEATHER_SCHEMA},
    }


def test_service_tier() -> None:
    out, _ = to_messages(chat(USER, service_tier="default"))
    assert out["service_tier"] == "standard_only"
    back, _ = to_chat(out)
    assert back["service_tier"] == "default"
    _, notes = to_messages(chat(USER, service_tier="flex"))
    assert any(n.startswith("service_tier") for n in notes)


# --- reasoning --------------------------------------------------------------------------------


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_reasoning_effort_to_thinking_and_back(effort: str) -> None:
    out, _ = to_messages(chat(USER, reasoning_effort=effort, max_completion_tokens=64000))
    assert out["thinking"] == {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}
    back, _ = to_chat(out)
    assert back["reasoning_effort"] == effort


def test_thinking_budget_fits_under_max_tokens() -> None:
    out, notes = to_messages(chat(USER, reasoning_effort="high", max_tokens=5000))
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4999}
    assert notes == []
    out, notes = to_messages(chat(USER, reasoning_effort="high", max_tokens=1000))
    assert "thinking" not in out
    assert any("thinking not enabled" in n for n in notes)
    body = chat(USER, reasoning_effort="medium")
    del body["max_tokens"]
    out, _ = to_messages(body)
    assert out["max_tokens"] == DEFAULT_MAX_TOKENS + THINKING_BUDGETS["medium"]


def test_reasoning_effort_none_disables_thinking() -> None:
    out, _ = to_messages(chat(USER, reasoning_effort="none"))
    assert out["thinking"] == {"type": "disabled"}
    back, notes = to_chat(out)
    assert "reasoning_effort" not in back
    assert any(n.startswith("thinking: 'disabled'") for n in notes)


@pytest.mark.parametrize(
    ("budget", "effort"), [(1024, "low"), (4096, "low"), (10000, "medium"), (31999, "high")]
)
def test_thinking_budget_to_effort(budget: int, effort: str) -> None:
    out, _ = to_chat(
        anthropic(A_USER, max_tokens=64000, thinking={"type": "enabled", "budget_tokens": budget})
    )
    assert out["reasoning_effort"] == effort


def test_adaptive_thinking_uses_the_effort() -> None:
    out, notes = to_chat(
        anthropic(A_USER, thinking={"type": "adaptive"}, output_config={"effort": "xhigh"})
    )
    assert out["reasoning_effort"] == "xhigh"
    assert notes == []


def test_thinking_history_to_chat_keeps_the_text_and_notes_the_signature() -> None:
    out, notes = to_chat(
        anthropic(
            A_USER,
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xxx"},
                    {"type": "text", "text": "hello"},
                ],
            },
        )
    )
    assert out["messages"][1] == {
        "role": "assistant",
        "content": "hello",
        "reasoning_content": "hmm",
    }
    assert any(n.startswith("thinking.signature") for n in notes)
    assert any(n.startswith("redacted_thinking") for n in notes)


# --- answers ----------------------------------------------------------------------------------

ANTHROPIC_ANSWER: dict[str, Any] = {
    "id": "msg_01abc",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [
        {"type": "thinking", "thinking": "Two cities.", "signature": "EqQBCgIYAhIM"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 100,
        "output_tokens": 40,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 10,
        "output_tokens_details": {"thinking_tokens": 12},
    },
}


def test_messages_answer_to_chat() -> None:
    wire.anthropic_message(ANTHROPIC_ANSWER)
    out = messages_answer_to_chat(ANTHROPIC_ANSWER)
    completion = wire.openai_completion(out)
    assert completion.id == "chatcmpl-01abc"
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    calls = choice.message.tool_calls or []
    assert [(c.id, c.function.name, orjson.loads(c.function.arguments)) for c in calls] == [  # type: ignore[union-attr]
        ("toolu_1", "weather", {"city": "Paris"}),
        ("toolu_2", "weather", {"city": "Rome"}),
    ]
    message = out["choices"][0]["message"]
    assert message["reasoning_content"] == "Two cities."
    assert message["thinking_blocks"] == [
        {"type": "thinking", "thinking": "Two cities.", "signature": "EqQBCgIYAhIM"}
    ]
    assert completion.usage is not None
    assert completion.usage.model_dump(exclude_none=True) == {
        "prompt_tokens": 1110,
        "completion_tokens": 40,
        "total_tokens": 1150,
        "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 12},
    }


def test_chat_answer_to_messages() -> None:
    answer = {
        "id": "chatcmpl-xyz",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-test",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "logprobs": None,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "reasoning_content": "think",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "now", "arguments": ""},
                        },
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 1110,
            "completion_tokens": 40,
            "total_tokens": 1150,
            "prompt_tokens_details": {"cached_tokens": 1000},
            "completion_tokens_details": {"reasoning_tokens": 12},
        },
    }
    wire.openai_completion(answer)
    out = chat_answer_to_messages(answer)
    message = wire.anthropic_message(out)
    assert message.id == "msg_xyz"
    assert message.stop_reason == "tool_use"
    assert out["content"] == [
        {"type": "thinking", "thinking": "think", "signature": ""},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
    ]
    assert out["usage"] == {
        "input_tokens": 110,
        "output_tokens": 40,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 0,
        "output_tokens_details": {"thinking_tokens": 12},
    }


def test_invalid_tool_arguments_in_an_answer_stay_visible() -> None:
    answer = chat_completion(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
            ],
        },
        "tool_calls",
    )
    out = chat_answer_to_messages(answer)
    wire.anthropic_message(out)
    assert out["content"][0]["input"] == {"_invalid_arguments": "{oops"}


def chat_completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-test",
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def anthropic_message(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
    ],
)
def test_stop_reason_to_finish_reason(stop_reason: str, finish_reason: str) -> None:
    out = messages_answer_to_chat(anthropic_message([{"type": "text", "text": "x"}], stop_reason))
    assert wire.openai_completion(out).choices[0].finish_reason == finish_reason


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        ("function_call", "tool_use"),
    ],
)
def test_finish_reason_to_stop_reason(finish_reason: str, stop_reason: str) -> None:
    answer = chat_completion({"role": "assistant", "content": "x"}, finish_reason)
    assert wire.anthropic_message(chat_answer_to_messages(answer)).stop_reason == stop_reason


def test_openai_refusal_becomes_a_refusal() -> None:
    answer = chat_completion({"role": "assistant", "content": None, "refusal": "I can't."}, "stop")
    out = wire.anthropic_message(chat_answer_to_messages(answer))
    assert out.stop_reason == "refusal"
    assert out.content[0].model_dump() == {"type": "text", "text": "I can't.", "citations": None}


def test_signed_thinking_survives_a_round_trip_through_an_openai_client() -> None:
    """Answer -> OpenAI client -> the client sends the message back -> Anthropic request."""
    completion = wire.openai_completion(messages_answer_to_chat(ANTHROPIC_ANSWER))
    # What a client appending `choices[0].message` to its history sends back.
    sent_back = completion.choices[0].message.model_dump(exclude_none=True)
    tool_messages = [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "rain"},
    ]
    notes: Notes = []
    out = chat_request_to_messages(chat(USER, sent_back, *tool_messages), notes)
    wire.anthropic_request(out)
    assert out["messages"][1]["content"] == ANTHROPIC_ANSWER["content"]
    assert notes == []


def test_unsigned_reasoning_is_noted_towards_anthropic() -> None:
    notes: Notes = []
    out = chat_request_to_messages(
        chat(USER, {"role": "assistant", "content": "hi", "reasoning_content": "why"}), notes
    )
    assert out["messages"][1] == {"role": "assistant", "content": "hi"}
    assert any(n.startswith("reasoning_content") for n in notes)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "anthropic_type", "openai_type"),
    [
        (400, "invalid_request_error", "invalid_request_error"),
        (401, "authentication_error", "authentication_error"),
        (403, "permission_error", "permission_error"),
        (404, "not_found_error", "not_found_error"),
        (413, "request_too_large", "invalid_request_error"),
        (429, "rate_limit_error", "rate_limit_error"),
        (500, "api_error", "server_error"),
        (529, "overloaded_error", "service_unavailable_error"),
    ],
)
def test_errors_both_ways(status: int, anthropic_type: str, openai_type: str) -> None:
    anthropic_body = orjson.dumps(
        {"type": "error", "error": {"type": anthropic_type, "message": "boom"}, "request_id": "r"}
    )
    if anthropic_type != "request_too_large":  # documented, sent by Cloudflare, not in the SDK
        ErrorResponse.model_validate_json(anthropic_body)
    openai_body = orjson.loads(messages_error_to_chat(status, anthropic_body))
    error = ErrorObject.model_validate(openai_body["error"])
    assert (error.message, error.type, error.code) == ("boom", openai_type, anthropic_type)

    back = orjson.loads(chat_error_to_messages(status, orjson.dumps(openai_body)))
    assert back == {"type": "error", "error": {"type": anthropic_type, "message": "boom"}}
    if anthropic_type != "request_too_large":
        ErrorResponse.model_validate(back)


def test_real_openai_error_bodies_to_anthropic() -> None:
    body = orjson.dumps(
        {
            "error": {
                "message": "Incorrect API key provided",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
    )
    out = ErrorResponse.model_validate_json(chat_error_to_messages(401, body))
    assert out.error.type == "authentication_error"
    assert out.error.message == "Incorrect API key provided"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
        (b"", "upstream error (HTTP 502)"),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b'{"error": "quota"}', "quota"),
        (b"[1, 2]", "[1,2]"),
    ],
)
def test_odd_error_bodies(body: bytes, message: str) -> None:
    out = orjson.loads(messages_error_to_chat(502, body))
    assert ErrorObject.model_validate(out["error"]).message == message
    assert out["error"]["type"] == "server_error"
    back = ErrorResponse.model_validate_json(chat_error_to_messages(502, body))
    assert (back.error.type, back.error.message) == ("api_error", message)


@pytest.mark.parametrize(("status", "kind"), [(418, "invalid_request_error"), (599, "api_error")])
def test_unlisted_statuses(status: int, kind: str) -> None:
    out = ErrorResponse.model_validate_json(chat_error_to_messages(status, b"x"))
    assert out.error.type == kind
