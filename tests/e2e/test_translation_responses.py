"""The openai SDK's Responses API through a real gateway's model router to the Anthropic-dialect
mock, whole and streamed: text with usage, forced function calls and a round trip, signed
thinking carried across turns, errors, and guardrails on the client's side."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam, Response

from palisade.providers.openai.translate_responses import SIGNED
from tests.e2e.conftest import CLIENT_KEY, Stack

MODEL = "mock-anthropic:claude-haiku-4-5"
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
    "strict": False,
}
EMAIL = "jane.doe@example.com"


def router(stack: Stack, proxy: str = "default") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{stack.gateway}/v1/model-router/{proxy}",
        api_key=CLIENT_KEY,
        max_retries=0,
        timeout=20,
    )


def knobs(**values: Any) -> dict[str, str]:
    """Mock knobs for a translated request: its body loses the `mock` field."""
    return {"x-mock-knobs": json.dumps(values)}


def test_create_reaches_anthropic_and_answers_as_a_response(stack: Stack) -> None:
    stack.clear_mock()
    with router(stack) as client:
        response = client.responses.create(
            model=MODEL,
            instructions="Be brief.",
            input="Say hi.",
            max_output_tokens=64,
            extra_headers=knobs(reply="Hi there."),
        )
    assert response.output_text == "Hi there."
    assert response.status == "completed"
    assert response.id.startswith("resp_")
    assert response.model == "claude-haiku-4-5"
    assert response.instructions == "Be brief."
    usage = response.usage
    assert usage is not None
    assert usage.input_tokens > 0
    assert usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v1/messages"
    assert seen["body"]["system"] == "Be brief."
    assert seen["body"]["messages"] == [{"role": "user", "content": "Say hi."}]
    assert seen["body"]["model"] == "claude-haiku-4-5"
    assert seen["body"]["max_tokens"] == 64


def test_stream_with_the_sdk_helper(stack: Stack) -> None:
    with (
        router(stack) as client,
        client.responses.stream(
            model="claude-haiku-4-5",
            input="Stream please.",
            extra_headers=knobs(reply="One two three four.", chunks=4),
        ) as stream,
    ):
        deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert deltas == final.output_text == "One two three four."
    assert final.status == "completed"
    assert final.usage is not None
    assert final.usage.output_tokens > 0


def test_create_stream_true_sends_the_whole_event_sequence(stack: Stack) -> None:
    with router(stack) as client:
        events = list(
            client.responses.create(
                model="claude-haiku-4-5",
                input="Stream please.",
                stream=True,
                extra_headers=knobs(reply="Hello world.", chunks=2),
            )
        )
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(events)))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "Hello world."
    assert completed.response.usage is not None


def test_forced_function_call_and_round_trip(stack: Stack) -> None:
    stack.clear_mock()
    with router(stack) as client:
        first = client.responses.create(
            model=MODEL,
            input="Weather in Oslo?",
            tools=[WEATHER],
            tool_choice="required",
        )
        [call] = [item for item in first.output if item.type == "function_call"]
        assert call.name == "get_weather"
        assert isinstance(json.loads(call.arguments), dict)
        assert call.call_id.startswith("toolu_")
        # The SDK's own pattern: the previous output, then the tool's result.
        items: list[Any] = [
            {"role": "user", "content": "Weather in Oslo?"},
            *first.output,
            {"type": "function_call_output", "call_id": call.call_id, "output": "Snow"},
        ]
        second = client.responses.create(model=MODEL, input=items, tools=[WEATHER])
    assert second.status == "completed"
    assert second.output_text
    first_seen, second_seen = stack.mock_requests()
    assert first_seen["body"]["tool_choice"] == {"type": "any"}
    turns = second_seen["body"]["messages"]
    assert turns[1]["content"] == [
        {
            "type": "tool_use",
            "id": call.call_id,
            "name": "get_weather",
            "input": json.loads(call.arguments),
        }
    ]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": call.call_id, "content": "Snow"}
    ]


def test_a_streamed_forced_function_call(stack: Stack) -> None:
    with (
        router(stack) as client,
        client.responses.stream(
            model=MODEL,
            input="Weather in Oslo?",
            tools=[WEATHER],
            tool_choice={"type": "function", "name": "get_weather"},
        ) as stream,
    ):
        pieces = "".join(
            e.delta for e in stream if e.type == "response.function_call_arguments.delta"
        )
        final = stream.get_final_response()
    [call] = final.output
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert json.loads(pieces) == json.loads(call.arguments)


def test_signed_thinking_survives_a_tool_round_trip(stack: Stack) -> None:
    stack.clear_mock()
    with router(stack) as client:
        first = client.responses.create(
            model=MODEL,
            input="Weather in Oslo?",
            tools=[WEATHER],
            reasoning={"effort": "low"},
            max_output_tokens=4096,
            extra_headers=knobs(
                tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}]
            ),
        )
        reasoning, call = first.output
        assert reasoning.type == "reasoning"
        assert reasoning.content
        assert reasoning.content[0].text
        assert reasoning.encrypted_content is not None
        assert reasoning.encrypted_content.startswith(SIGNED)
        assert call.type == "function_call"
        items: list[Any] = [
            {"role": "user", "content": "Weather in Oslo?"},
            *first.output,
            {"type": "function_call_output", "call_id": call.call_id, "output": "Snow"},
        ]
        second = client.responses.create(
            model=MODEL,
            input=items,
            tools=[WEATHER],
            reasoning={"effort": "low"},
            max_output_tokens=4096,
        )
    assert second.output_text
    _, second_seen = stack.mock_requests()
    thinking = second_seen["body"]["messages"][1]["content"][0]
    assert thinking == {
        "type": "thinking",
        "thinking": reasoning.content[0].text,
        "signature": reasoning.encrypted_content.removeprefix(SIGNED),
    }


def test_previous_response_id_is_refused_clearly(stack: Stack) -> None:
    stack.clear_mock()
    with router(stack) as client, pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="And then?", previous_response_id="resp_1")
    assert caught.value.code == "translation_unavailable"
    assert "previous_response_id" in caught.value.message
    assert stack.mock_requests() == []


def test_an_anthropic_error_reaches_the_client_in_openai_format(stack: Stack) -> None:
    with router(stack) as client, pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model=MODEL, input="x", extra_headers=knobs(fail="429"))
    assert caught.value.response.json()["error"]["type"] == "rate_limit_error"


def test_guardrails_judge_the_client_side(stack: Stack) -> None:
    stack.clear_mock()
    with router(stack, "masked") as client:
        response = client.responses.create(
            model=MODEL,
            input=f"Write to {EMAIL}.",
            extra_headers=knobs(reply="I wrote to [EMAIL_1]."),
        )
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v1/messages"
    assert EMAIL not in json.dumps(seen)
    assert seen["body"]["messages"] == [{"role": "user", "content": "Write to [EMAIL_1]."}]
    assert response.output_text == f"I wrote to {EMAIL}."


def test_a_streamed_answer_is_unmasked_across_chunks(stack: Stack) -> None:
    with (
        router(stack, "masked") as client,
        client.responses.stream(
            model=MODEL,
            input=f"Write to {EMAIL}.",
            extra_headers=knobs(reply="Mail sent to [EMAIL_1] today.", chunks=9),
        ) as stream,
    ):
        deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert deltas == final.output_text == f"Mail sent to {EMAIL} today."


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_policy_blocks_a_translated_call(stack: Stack, stream: bool) -> None:
    shell = {"name": "run_shell", "arguments": {"command": "rm -rf /"}}
    final: Response
    with router(stack, "agents") as client:
        if stream:
            with client.responses.stream(
                model=MODEL, input="clean up", extra_headers=knobs(tool_calls=[shell])
            ) as events:
                streamed = "".join(
                    e.delta for e in events if e.type == "response.function_call_arguments.delta"
                )
                final = events.get_final_response()
            assert streamed == ""
        else:
            final = client.responses.create(
                model=MODEL, input="clean up", extra_headers=knobs(tool_calls=[shell])
            )
    assert all(item.type != "function_call" for item in final.output)
    assert "Palisade blocked the tool call `run_shell`" in final.output_text
