"""Ollama's native chat: its NDJSON streams, its body shapes, and its clients' requests taken
to OpenAI chat and back."""

from __future__ import annotations

from typing import Any

import orjson

from palisade.errors import BadRequest
from palisade.providers.ollama import OLLAMA, OLLAMA_CHAT
from palisade.providers.ollama.stream import NdjsonParser, frame
from palisade.providers.ollama.translation import OllamaToChat


def test_the_ndjson_parser_splits_lines_across_chunks() -> None:
    parser = NdjsonParser()
    first = parser.feed(b'{"a":1}\n{"b"')
    assert [(e.event, e.data) for e in first] == [("message", '{"a":1}')]
    assert parser.finish()  # stopped mid-line
    second = parser.feed(b":2}\n\n")
    assert [e.data for e in second] == ['{"b":2}']
    assert not parser.finish()
    assert frame(("message", {"c": 3})) == b'{"c":3}\n'


def test_the_surface_streams_unless_told_not_to_and_reads_the_counts() -> None:
    assert OLLAMA_CHAT.request_stream({"model": "m"}, {}) is True
    assert OLLAMA_CHAT.request_stream({"stream": False}, {}) is False
    assert OLLAMA_CHAT.stream_type == "application/x-ndjson"
    done = {"done": True, "prompt_eval_count": 26, "eval_count": 298}
    usage = OLLAMA_CHAT.usage(done)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (26, 298)
    assert OLLAMA_CHAT.usage({"done": False}) is None
    body: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
        ]
    }
    slots = OLLAMA_CHAT.request_texts(body)
    assert [(s.role, s.text, s.tool) for s in slots] == [
        ("system", "Be brief.", None),
        ("tool", "sunny", "get_weather"),
    ]
    assert OLLAMA_CHAT.prompt_tokens(body, "llama3") > 0


def test_errors_are_ollamas_error_objects() -> None:
    error = BadRequest("nope")
    assert orjson.loads(OLLAMA.error_body(error)) == {"error": "nope"}
    assert OLLAMA.error_event(error).endswith(b"\n")


def test_a_request_becomes_chat_with_tool_ids_matched_and_notes() -> None:
    translation = OllamaToChat()
    body = translation.request(
        {
            "model": "llama3",
            "messages": [
                {"role": "user", "content": "Weather?", "images": ["aGk="]},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
                    ],
                },
                {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
            ],
            "options": {"temperature": 0.2, "num_predict": 64, "num_ctx": 8192},
            "format": "json",
            "keep_alive": "5m",
        }
    )
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 64
    assert body["response_format"] == {"type": "json_object"}
    user, assistant, tool = body["messages"]
    assert user["content"][1]["image_url"]["url"] == "data:image/png;base64,aGk="
    call = assistant["tool_calls"][0]
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Oslo"}
    assert tool["tool_call_id"] == call["id"]
    assert translation.notes == [
        "options.num_ctx: dropped (no equivalent)",
        "keep_alive: dropped (no equivalent)",
    ]


def test_an_answer_and_a_stream_come_back_as_ollamas() -> None:
    translation = OllamaToChat()
    translation.request({"model": "llama3", "messages": [], "stream": False})
    answer = translation.answer(
        {
            "choices": [
                {
                    "message": {
                        "content": "",
                        "tool_calls": [
                            {"function": {"name": "f", "arguments": '{"x": 1}'}, "id": "c1"}
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7},
        }
    )
    assert answer["message"]["tool_calls"] == [{"function": {"name": "f", "arguments": {"x": 1}}}]
    assert (answer["done"], answer["done_reason"]) == (True, "stop")
    assert (answer["prompt_eval_count"], answer["eval_count"]) == (5, 7)

    stream = OllamaToChat()
    stream.request({"model": "llama3", "messages": []})
    lines = [
        *stream.stream(("message", {"choices": [{"index": 0, "delta": {"content": "Hi"}}]})),
        *stream.stream(
            ("message", {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        ),
        *stream.stream(
            ("message", {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}})
        ),
        *stream.stream(("message", "[DONE]")),
    ]
    objs = [line[1] for line in lines]
    assert objs[0]["message"]["content"] == "Hi"
    assert objs[0]["done"] is False
    assert objs[-1]["done"] is True
    assert (objs[-1]["prompt_eval_count"], objs[-1]["eval_count"]) == (3, 1)
    assert stream.finish() == []


def test_a_stream_that_breaks_off_ends_with_an_error_line() -> None:
    translation = OllamaToChat()
    translation.request({"model": "m", "messages": []})
    translation.stream(("message", {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}))
    [(_, last)] = translation.finish()
    assert "error" in last
    assert "done" not in last
