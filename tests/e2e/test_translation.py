"""Across dialects through a real gateway: the openai SDK through the model router to the
Anthropic-dialect provider, and the anthropic SDK to an OpenAI-dialect model."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from palisade.pricing import PriceTable, Usage
from tests.e2e.conftest import ADMIN_TOKEN, CLIENT_KEY, Stack
from tests.helpers.records import interaction

WEATHER = {
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


def router(stack: Stack) -> Any:
    return openai.OpenAI(
        base_url=f"{stack.gateway}/v1/model-router/default", api_key=CLIENT_KEY, max_retries=0
    )


def test_chat_through_the_router_reaches_anthropic_and_comes_back_as_openai(stack: Stack) -> None:
    stack.clear_mock()
    with router(stack) as client:
        answer = client.chat.completions.create(
            model="mock-anthropic:claude-haiku-4-5",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Say hi."},
            ],
            extra_headers={"x-mock-knobs": json.dumps({"reply": "Hi there."})},
        )
    assert answer.choices[0].message.content == "Hi there."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.prompt_tokens > 0
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v1/messages"
    assert seen["body"]["system"] == "Be brief."
    assert seen["body"]["model"] == "claude-haiku-4-5"
    assert seen["body"]["max_tokens"] > 0


def test_a_translated_stream_with_usage(stack: Stack) -> None:
    with router(stack) as client:
        chunks = list(
            client.chat.completions.create(
                model="claude-haiku-4-5",
                messages=[{"role": "user", "content": "Stream please."}],
                stream=True,
                stream_options={"include_usage": True},
                extra_headers={"x-mock-knobs": json.dumps({"reply": "One two three."})},
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "One two three."
    usage = [c.usage for c in chunks if c.usage is not None]
    assert usage
    assert usage[-1].completion_tokens > 0


def test_forced_tool_and_round_trip_through_the_router(stack: Stack) -> None:
    with router(stack) as client:
        first = client.chat.completions.create(
            model="claude-haiku-4-5",
            messages=[{"role": "user", "content": "Weather in Oslo?"}],
            tools=[WEATHER],
            tool_choice="required",
        )
        [call] = first.choices[0].message.tool_calls or []
        assert first.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "get_weather"
        assert isinstance(json.loads(call.function.arguments), dict)
        second = client.chat.completions.create(
            model="claude-haiku-4-5",
            tools=[WEATHER],
            messages=[
                {"role": "user", "content": "Weather in Oslo?"},
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "Snow"},
            ],
        )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content


def anthropic_client(stack: Stack) -> Any:
    return anthropic.Anthropic(
        base_url=f"{stack.gateway}/v1/anthropic", api_key=CLIENT_KEY, max_retries=0
    )


def test_the_anthropic_sdk_on_an_openai_model(stack: Stack) -> None:
    stack.clear_mock()
    with anthropic_client(stack) as client:
        message = client.messages.create(
            model="mock-gpt",
            max_tokens=64,
            system="Be brief.",
            messages=[{"role": "user", "content": "Say hi."}],
            extra_headers={"x-mock-knobs": json.dumps({"reply": "Hello from GPT."})},
        )
    assert message.content[0].text == "Hello from GPT."
    assert message.stop_reason == "end_turn"
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["body"]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_an_anthropic_stream_from_an_openai_model(stack: Stack) -> None:
    with (
        anthropic_client(stack) as client,
        client.messages.stream(
            model="mock-gpt",
            max_tokens=64,
            messages=[{"role": "user", "content": "Stream."}],
            extra_headers={"x-mock-knobs": json.dumps({"reply": "Streaming words here."})},
        ) as stream,
    ):
        kinds = {event.type for event in stream}
        final = stream.get_final_message()
    assert {"message_start", "content_block_delta", "message_delta", "message_stop"} <= kinds
    assert final.content[0].text == "Streaming words here."
    assert final.usage.output_tokens > 0


def test_an_openai_error_reaches_the_anthropic_client_in_its_format(stack: Stack) -> None:
    with anthropic_client(stack) as client, pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(
            model="mock-gpt",
            max_tokens=8,
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"x-mock-knobs": json.dumps({"fail": "429"})},
        )
    assert caught.value.response.json()["error"]["type"] == "rate_limit_error"


def test_a_translated_request_says_so_in_a_header_and_in_its_record(stack: Stack) -> None:
    with router(stack) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="claude-haiku-4-5",
            messages=[{"role": "user", "content": "hi"}],
            logprobs=True,
            seed=7,
        )
    assert raw.headers["x-palisade-translated"] == "anthropic:messages"
    notes = raw.headers["x-palisade-translation-notes"]
    assert "logprobs" in notes
    assert "seed" in notes
    request_id = raw.headers["x-palisade-request-id"]
    record = wait_for_record(stack, request_id)
    assert record["translation"]["client"] == "openai:chat/completions"
    assert record["translation"]["provider"] == "anthropic:messages"
    assert any("logprobs" in n for n in record["translation"]["notes"])
    assert record["endpoint"] == "chat/completions"
    assert record["provider"] == "mock-anthropic"


def test_anthropic_cache_figures_reach_the_record(stack: Stack) -> None:
    with anthropic_client(stack) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5",
            max_tokens=16,
            system=[
                {"type": "text", "text": "Policy. " * 200, "cache_control": {"type": "ephemeral"}}
            ],
            messages=[{"role": "user", "content": "hi"}],
        )
    usage = raw.parse().usage
    record = wait_for_record(stack, raw.headers["x-palisade-request-id"])
    assert usage.cache_read_input_tokens
    assert record["cached_tokens"] == usage.cache_read_input_tokens
    assert record["input_tokens"] == (
        usage.input_tokens
        + (usage.cache_read_input_tokens or 0)
        + (usage.cache_creation_input_tokens or 0)
    )
    assert record["endpoint"] == "messages"
    assert record["translation"] is None


def test_the_router_lists_every_providers_models(stack: Stack) -> None:
    with router(stack) as client:
        ids = {m.id for m in client.models.list()}
    # Every provider's models, by the `provider:model` id that reaches each.
    assert any(i.startswith("mock-anthropic:claude-") for i in ids)  # Anthropic-dialect's
    assert any(i.startswith("mock:mock-") for i in ids)


def test_a_cached_prompt_is_priced_at_the_cache_read_price(stack: Stack) -> None:
    prices = PriceTable()
    with anthropic_client(stack) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5",
            max_tokens=16,
            system=[
                {"type": "text", "text": "Terms. " * 300, "cache_control": {"type": "ephemeral"}}
            ],
            messages=[{"role": "user", "content": "hi"}],
        )
    record = wait_for_record(stack, raw.headers["x-palisade-request-id"])
    usage = Usage(
        input_tokens=record["input_tokens"],
        output_tokens=record["output_tokens"],
        cached_tokens=record["cached_tokens"],
        cache_write_tokens=record["cache_write_tokens"],
    )
    assert usage.cached_tokens > 0
    expected = prices.cost("claude-haiku-4-5", usage, "mock-anthropic")
    assert expected is not None
    assert record["cost_usd"] == pytest.approx(expected)
    uncached = prices.cost("claude-haiku-4-5", usage._replace(cached_tokens=0), "mock-anthropic")
    assert uncached is not None
    assert expected < uncached


def wait_for_record(stack: Stack, request_id: str) -> dict[str, Any]:
    return interaction(stack.gateway, request_id, ADMIN_TOKEN)


def test_count_tokens_of_an_openai_model_is_answered_by_the_gateway(stack: Stack) -> None:
    # Claude Code counts a large tool result before it sends it; OpenAI's API has no count.
    stack.clear_mock()
    messages: Any = [{"role": "user", "content": "Count these words, please."}]
    with anthropic_client(stack) as client:
        short = client.messages.count_tokens(model="mock-gpt", messages=messages)
        longer = client.messages.count_tokens(
            model="mock-gpt",
            system="Be brief.",
            messages=[*messages, {"role": "assistant", "content": "Five words it is."}],
        )
        raw = client.messages.with_raw_response.count_tokens(model="mock-gpt", messages=messages)
    assert 0 < short.input_tokens < longer.input_tokens
    assert raw.headers["x-palisade-request-id"].startswith("req_")
    assert stack.mock_requests() == []  # nothing left for the provider
