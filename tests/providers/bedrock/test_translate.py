"""OpenAI chat completions <-> Bedrock Converse: requests, answers, errors and streams."""

from __future__ import annotations

from typing import Any

import orjson

from palisade.providers.bedrock.translation import ChatToBedrock
from palisade.providers.chat_chunks import DONE

TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def test_a_chat_request_becomes_a_converse_request() -> None:
    t = ChatToBedrock()
    out = t.request(
        {
            "model": "mock-bedrock:m",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "Sunny."},
                {"role": "user", "content": "Thanks."},
            ],
            "tools": TOOLS,
            "tool_choice": "required",
            "max_completion_tokens": 100,
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": "END",
            "stream": True,
            "stream_options": {"include_usage": True},
            "seed": 7,
            "n": 1,
        }
    )
    assert out == {
        "system": [{"text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"text": "Weather?"}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": "c1",
                            "name": "get_weather",
                            "input": {"city": "Oslo"},
                        }
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "c1", "content": [{"text": "Sunny."}]}},
                    {"text": "Thanks."},
                ],
            },
        ],
        "inferenceConfig": {
            "maxTokens": 100,
            "temperature": 0.2,
            "topP": 0.9,
            "stopSequences": ["END"],
        },
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "description": "Weather.",
                        "inputSchema": {"json": TOOLS[0]["function"]["parameters"]},
                    }
                }
            ],
            "toolChoice": {"any": {}},
        },
    }
    assert t.notes == ["seed: no equivalent in the Converse API, dropped"]


def test_a_converse_answer_becomes_a_chat_completion() -> None:
    t = ChatToBedrock()
    t.request({"model": "mock-bedrock:m", "messages": [{"role": "user", "content": "hi"}]})
    answer = t.answer(
        {
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [
                        {"text": "Let me check."},
                        {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}},
                    ],
                }
            },
            "stopReason": "tool_use",
            "usage": {
                "inputTokens": 5,
                "outputTokens": 3,
                "totalTokens": 10,
                "cacheReadInputTokens": 2,
                "cacheWriteInputTokens": 0,
            },
        }
    )
    choice = answer["choices"][0]
    assert answer["model"] == "mock-bedrock:m"
    assert choice["message"]["content"] == "Let me check."
    assert choice["message"]["tool_calls"] == [
        {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    ]
    assert choice["finish_reason"] == "tool_calls"
    assert answer["usage"]["prompt_tokens"] == 7
    assert answer["usage"]["prompt_tokens_details"]["cached_tokens"] == 2


def test_errors_keep_the_status_and_name_the_bedrock_code() -> None:
    body = ChatToBedrock().error(429, b'{"message":"Too many requests"}')
    assert orjson.loads(body)["error"] == {
        "message": "Too many requests",
        "type": "rate_limit_error",
        "param": None,
        "code": "ThrottlingException",
    }


def converse_stream() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"delta": {"text": "Hi"}, "contentBlockIndex": 0}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        (
            "contentBlockStart",
            {"start": {"toolUse": {"toolUseId": "t1", "name": "f"}}, "contentBlockIndex": 1},
        ),
        ("contentBlockDelta", {"delta": {"toolUse": {"input": '{"a":'}}, "contentBlockIndex": 1}),
        ("contentBlockDelta", {"delta": {"toolUse": {"input": "1}"}}, "contentBlockIndex": 1}),
        ("contentBlockStop", {"contentBlockIndex": 1}),
        ("messageStop", {"stopReason": "tool_use"}),
        ("metadata", {"usage": {"inputTokens": 4, "outputTokens": 2, "totalTokens": 6}}),
    ]


def test_a_converse_stream_becomes_chat_chunks_with_usage() -> None:
    t = ChatToBedrock()
    t.request(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    out = [data for event in converse_stream() for _, data in t.stream(event)]
    assert out[-1] == DONE
    usage = out[-2]
    assert isinstance(usage, dict)
    assert usage["choices"] == []
    assert usage["usage"]["total_tokens"] == 6
    chunks = [c for c in out[:-2] if isinstance(c, dict)]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content") or "" for d in deltas) == "Hi"
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["id"] == "t1"
    assert "".join(c["function"]["arguments"] for c in calls) == '{"a":1}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert t.finish() == []


def test_a_stream_exception_and_a_broken_stream_end_in_errors() -> None:
    t = ChatToBedrock()
    t.request({"model": "m", "messages": [], "stream": True})
    t.stream(("messageStart", {"role": "assistant"}))
    [(_, error)] = t.stream(("throttlingException", {"message": "slow"}))
    assert error["error"]["code"] == "ThrottlingException"
    assert t.finish() == []
    broken = ChatToBedrock()
    broken.request({"model": "m", "messages": [], "stream": True})
    broken.stream(("messageStart", {"role": "assistant"}))
    [(_, last)] = broken.finish()
    assert last["error"]["code"] == "upstream_stream_interrupted"
