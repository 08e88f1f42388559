"""OpenAI chat and embeddings <-> Cohere v2: requests (with notes for what has no equivalent),
answers, streams, errors."""

from __future__ import annotations

import base64
import struct
from typing import Any

import orjson
import pytest

from palisade.errors import BadRequest
from palisade.providers.catalog import Translations
from palisade.providers.chat_chunks import BROKEN_OFF
from palisade.providers.cohere import CHAT as COHERE_CHAT
from palisade.providers.cohere.translate import (
    chat_request_to_cohere,
    cohere_answer_to_chat,
    cohere_error_to_chat,
)
from palisade.providers.cohere.translation import ChatToCohere, EmbeddingsToCohere
from palisade.providers.openai import CHAT, EMBEDDINGS, RESPONSES
from palisade.providers.translation import Chained

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_a_full_request_is_mapped() -> None:
    notes: list[str] = []
    out = chat_request_to_cohere(
        {
            "model": "command-a",
            "messages": [
                {"role": "developer", "content": "rules"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                {"role": "assistant", "content": "It is sunny."},
            ],
            "tools": [TOOL],
            "tool_choice": "required",
            "max_completion_tokens": 99,
            "temperature": 0.3,
            "top_p": 0.9,
            "stop": "END",
            "seed": 7,
            "stream": True,
            "stream_options": {"include_usage": True},
            "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {}}},
            "n": 1,
            "store": False,
        },
        notes,
    )
    assert out == {
        "model": "command-a",
        "messages": [
            {"role": "system", "content": "rules"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            },
            {
                "role": "assistant",
                "tool_plan": "Checking.",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "assistant", "content": "It is sunny."},
        ],
        "tools": [TOOL],
        "tool_choice": "REQUIRED",
        "max_tokens": 99,
        "temperature": 0.3,
        "p": 0.9,
        "stop_sequences": ["END"],
        "seed": 7,
        "stream": True,
        "response_format": {"type": "json_object", "json_schema": {}},
    }
    assert notes == ["response_format.json_schema: its name has no equivalent"]


def test_fields_without_equivalent_are_noted() -> None:
    notes: list[str] = []
    other = {"type": "function", "function": {"name": "other", "parameters": {}}}
    out = chat_request_to_cohere(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]},
                {"role": "assistant", "content": "x", "reasoning_content": "hmm"},
            ],
            "tools": [TOOL, other, {"type": "custom", "custom": {}}],
            "tool_choice": {"type": "function", "function": {"name": "other"}},
            "parallel_tool_calls": False,
            "n": 2,
            "user": "u1",
            "logit_bias": {"1": 2},
            "reasoning_effort": "low",
            "surprise": 1,
        },
        notes,
    )
    assert out["tools"] == [other]
    assert out["tool_choice"] == "REQUIRED"
    assert out["thinking"] == {"type": "enabled"}
    assert out["messages"][0] == {"role": "user", "content": ""}
    joined = "\n".join(notes)
    for word in (
        "input_audio",
        "reasoning: not sent back",
        "tools: only function tools",
        "named function",
        "parallel_tool_calls",
        "n: ",
        "user: ",
        "logit_bias",
        "reasoning_effort",
        "surprise",
    ):
        assert word in joined, word


def test_an_answer_with_text_thinking_and_usage() -> None:
    out = cohere_answer_to_chat(
        {
            "id": "abc",
            "finish_reason": "MAX_TOKENS",
            "message": {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm"},
                    {"type": "text", "text": "Hello"},
                    {"type": "text", "text": " there"},
                ],
                "citations": [{"start": 0, "end": 5}],
            },
            "usage": {
                "billed_units": {"input_tokens": 10, "output_tokens": 3},
                "tokens": {"input_tokens": 20, "output_tokens": 3},
                "cached_tokens": 4,
            },
        },
        "mock-cohere:command-a",
    )
    assert out["id"] == "chatcmpl-abc"
    assert out["model"] == "mock-cohere:command-a"
    [choice] = out["choices"]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == "Hello there"
    assert choice["message"]["reasoning_content"] == "hmm"
    assert out["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 3,
        "total_tokens": 13,
        "prompt_tokens_details": {"cached_tokens": 4},
    }


def test_a_tool_call_answer() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    out = cohere_answer_to_chat(
        {
            "id": "x",
            "finish_reason": "TOOL_CALL",
            "message": {"role": "assistant", "tool_plan": "Calling f.", "tool_calls": [call]},
        },
        "m",
    )
    [choice] = out["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Calling f."
    assert choice["message"]["tool_calls"] == [call]


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid_request_error"), (429, "rate_limit_error"), (500, "server_error")],
)
def test_errors_are_openai_shaped(status: int, kind: str) -> None:
    body = orjson.loads(cohere_error_to_chat(status, b'{"id": "r", "message": "nope"}'))
    assert body == {"error": {"message": "nope", "type": kind, "param": None, "code": None}}
    raw = orjson.loads(cohere_error_to_chat(502, b"Bad Gateway"))
    assert raw["error"]["message"] == "Bad Gateway"


def ev(data: dict[str, Any]) -> tuple[str, Any]:
    return (str(data["type"]), data)


def stream_of(*, tools: bool, end: dict[str, Any] | None) -> list[tuple[str, Any]]:
    events = [ev({"type": "message-start", "id": "m1", "delta": {"message": {}}})]
    if tools:
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
        events += [
            ev({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "Plan."}}}),
            ev({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": call}}}),
            *(
                ev(
                    {
                        "type": "tool-call-delta",
                        "index": 0,
                        "delta": {"message": {"tool_calls": {"function": {"arguments": p}}}},
                    }
                )
                for p in ('{"a"', ": 1}")
            ),
            ev({"type": "tool-call-end", "index": 0}),
        ]
    else:
        events += [
            ev(
                {
                    "type": "content-start",
                    "index": 0,
                    "delta": {"message": {"content": {"type": "text", "text": ""}}},
                }
            ),
            *(
                ev(
                    {
                        "type": "content-delta",
                        "index": 0,
                        "delta": {"message": {"content": {"text": p}}},
                    }
                )
                for p in ("Hel", "lo")
            ),
            ev({"type": "citation-start", "index": 0, "delta": {"message": {"citations": {}}}}),
            ev({"type": "citation-end", "index": 0}),
            ev({"type": "content-end", "index": 0}),
        ]
    if end is not None:
        events.append(ev({"type": "message-end", "delta": end}))
    return events


def translate(
    body: dict[str, Any], events: list[tuple[str, Any]]
) -> tuple[list[Any], ChatToCohere]:
    t = ChatToCohere()
    t.request(body)
    out = [data for event in events for _, data in t.stream(event)]
    out += [data for _, data in t.finish()]
    return out, t


USAGE = {"billed_units": {"input_tokens": 5, "output_tokens": 2}}


def test_a_text_stream_becomes_chunks_with_usage() -> None:
    body = {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}
    out, _ = translate(
        body, stream_of(tools=False, end={"finish_reason": "COMPLETE", "usage": USAGE})
    )
    assert out[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in out[1:-3]) == "Hello"
    assert out[-3]["choices"][0]["finish_reason"] == "stop"
    assert out[-2]["choices"] == []
    assert out[-2]["usage"]["prompt_tokens"] == 5
    assert out[-2]["usage"]["completion_tokens"] == 2
    assert out[-1] == "[DONE]"
    assert {c["id"] for c in out[:-1]} == {"chatcmpl-m1"}


def test_a_tool_stream_becomes_tool_call_chunks() -> None:
    body = {"model": "m", "messages": [], "stream": True}
    out, _ = translate(body, stream_of(tools=True, end={"finish_reason": "TOOL_CALL"}))
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in out[:-1]
        if c["choices"][0]["delta"].get("tool_calls")
    ]
    assert calls[0] == {
        "index": 0,
        "id": "c1",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    assert "".join(c["function"]["arguments"] for c in calls) == '{"a": 1}'
    assert out[1]["choices"][0]["delta"] == {"content": "Plan."}
    assert out[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert out[-1] == "[DONE]"


def test_an_error_at_the_end_becomes_an_error_object() -> None:
    body = {"model": "m", "messages": [], "stream": True}
    out, _ = translate(
        body, stream_of(tools=False, end={"finish_reason": "ERROR", "error": "boom"})
    )
    assert out[-1]["error"]["message"] == "boom"
    assert "[DONE]" not in out


def test_a_stream_that_broke_off_ends_with_an_error() -> None:
    body = {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}
    out, _ = translate(body, stream_of(tools=False, end=None))
    assert out[-1] == BROKEN_OFF
    assert out[-2]["choices"] == []  # the usage read so far
    assert "[DONE]" not in out


def test_embeddings_are_mapped_both_ways() -> None:
    t = EmbeddingsToCohere()
    out = t.request(
        {"model": "embed-v4.0", "input": ["a", "b"], "dimensions": 8, "encoding_format": "base64"}
    )
    assert out == {
        "model": "embed-v4.0",
        "texts": ["a", "b"],
        "input_type": "search_document",
        "embedding_types": ["float"],
        "output_dimension": 8,
    }
    assert any("input_type" in n for n in t.notes)
    answer = t.answer(
        {
            "id": "e",
            "embeddings": {"float": [[0.5, -1.0], [0.25, 2.0]]},
            "meta": {"billed_units": {"input_tokens": 2}},
        }
    )
    assert answer["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    first = base64.b64decode(answer["data"][0]["embedding"])
    assert struct.unpack("<2f", first) == (0.5, -1.0)
    with pytest.raises(BadRequest):
        EmbeddingsToCohere().request({"model": "x", "input": [1, 2, 3]})


def test_every_client_surface_reaches_cohere() -> None:
    translations = Translations()
    assert isinstance(translations.between(CHAT, "cohere"), ChatToCohere)
    assert isinstance(translations.between(EMBEDDINGS, "cohere"), EmbeddingsToCohere)
    chained = translations.between(RESPONSES, "cohere")
    assert isinstance(chained, Chained)
    assert chained.upstream is COHERE_CHAT
