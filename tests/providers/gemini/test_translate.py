"""OpenAI chat <-> Gemini: requests (with their notes), answers, errors and streams."""

from __future__ import annotations

from typing import Any

import orjson

from palisade.providers.gemini.translate import (
    chat_request_to_gemini,
    gemini_answer_to_chat,
    gemini_error_to_chat,
)
from palisade.providers.gemini.translation import ChatToGemini
from palisade.routes.gemini import query_key

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        "strict": True,
    },
}


def test_a_full_request() -> None:
    notes: list[str] = []
    out = chat_request_to_gemini(
        {
            "model": "x",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                {"role": "user", "content": "And tomorrow?"},
                {"role": "developer", "content": "Late rule."},
            ],
            "tools": [TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "max_completion_tokens": 100,
            "temperature": 0.5,
            "stop": "END",
            "n": 2,
            "reasoning_effort": "low",
            "response_format": {"type": "json_object"},
            "stream": True,
            "stream_options": {"include_usage": True},
            "user": "u-1",
            "store": False,
        },
        notes,
    )
    assert out["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Late rule."}]}
    assert out["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "What is this?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
            ],
        },
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "sunny"}}},
                {"text": "And tomorrow?"},
            ],
        },
    ]
    assert out["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "The weather.",
                    "parametersJsonSchema": TOOL["function"]["parameters"],  # type: ignore[index]
                }
            ]
        }
    ]
    assert out["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }
    assert out["generationConfig"] == {
        "maxOutputTokens": 100,
        "temperature": 0.5,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "responseMimeType": "application/json",
        "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True},
    }
    assert "model" not in out
    joined = " ".join(notes)
    assert "moved to systemInstruction" in joined
    assert "strict" in joined
    assert "user: Gemini has no equivalent" in joined
    assert "store" not in joined  # its default value changes nothing


def test_an_answer_with_text_thoughts_calls_and_usage() -> None:
    out = gemini_answer_to_chat(
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "thinking...", "thought": True},
                            {"text": "Let me check."},
                            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 10,
                "cachedContentTokenCount": 4,
                "candidatesTokenCount": 5,
                "thoughtsTokenCount": 3,
            },
            "modelVersion": "gemini-2.5-flash",
            "responseId": "abc",
        }
    )
    assert out["id"] == "chatcmpl-abc"
    assert out["model"] == "gemini-2.5-flash"
    [choice] = out["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] == "Let me check."
    assert message["reasoning_content"] == "thinking..."
    [call] = message["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert call["id"].startswith("call_")
    assert out["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 8,
        "total_tokens": 18,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }


def test_finish_reasons_and_a_blocked_prompt() -> None:
    def finish(reason: str) -> Any:
        answer = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}
        return gemini_answer_to_chat(answer)["choices"][0]["finish_reason"]

    assert finish("MAX_TOKENS") == "length"
    assert finish("SAFETY") == "content_filter"
    assert finish("OTHER") == "stop"
    blocked = gemini_answer_to_chat({"promptFeedback": {"blockReason": "SAFETY"}})
    assert blocked["choices"][0]["finish_reason"] == "content_filter"


def test_errors_keep_the_status_and_name_google_s_code() -> None:
    body = orjson.dumps(
        {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    )
    out = orjson.loads(gemini_error_to_chat(429, body))
    assert out == {
        "error": {
            "message": "quota",
            "type": "rate_limit_error",
            "param": None,
            "code": "RESOURCE_EXHAUSTED",
        }
    }
    assert (
        orjson.loads(gemini_error_to_chat(502, b"bad gateway"))["error"]["message"] == "bad gateway"
    )


def chunk(parts: list[Any], finish: str | None = None, usage: Any = None) -> Any:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    out: dict[str, Any] = {"candidates": [candidate], "responseId": "r1", "modelVersion": "g"}
    if usage:
        out["usageMetadata"] = usage
    return ("message", out)


def test_a_stream_with_usage_ends_with_done() -> None:
    t = ChatToGemini()
    t.request({"messages": [], "stream": True, "stream_options": {"include_usage": True}})
    out = [
        data
        for e in (
            chunk([{"text": "Hel"}]),
            chunk([{"text": "lo"}], "STOP", {"promptTokenCount": 3, "candidatesTokenCount": 2}),
        )
        for _, data in t.stream(e)
    ]
    out += [data for _, data in t.finish()]
    assert out[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in out[1:3]] == ["Hel", "lo"]
    assert out[3]["choices"][0]["finish_reason"] == "stop"
    assert out[4]["usage"]["total_tokens"] == 5
    assert out[5] == "[DONE]"
    assert all(c["id"] == "chatcmpl-r1" for c in out[:5])


def test_a_streamed_function_call() -> None:
    t = ChatToGemini()
    t.request({"messages": [], "stream": True})
    call = {"functionCall": {"name": "f", "args": {"a": 1}}}
    out = [data for _, data in t.stream(chunk([call], "STOP"))] + [d for _, d in t.finish()]
    tool = out[1]["choices"][0]["delta"]["tool_calls"][0]
    assert (tool["index"], tool["function"]) == (0, {"name": "f", "arguments": '{"a":1}'})
    assert out[2]["choices"][0]["finish_reason"] == "tool_calls"
    assert out[-1] == "[DONE]"


def test_a_stream_that_breaks_off_ends_with_an_error() -> None:
    t = ChatToGemini()
    t.request({"messages": [], "stream": True})
    list(t.stream(chunk([{"text": "Hel"}])))
    [(_, last)] = t.finish()
    assert last["error"]["code"] == "upstream_stream_interrupted"


def test_an_error_in_the_stream_is_the_last_item() -> None:
    t = ChatToGemini()
    t.request({"messages": [], "stream": True})
    error = {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}
    [(_, out)] = t.stream(("message", error))
    assert out["error"] == {
        "message": "boom",
        "type": "server_error",
        "param": None,
        "code": "INTERNAL",
    }
    assert t.finish() == []


def test_a_query_key_moves_into_the_header() -> None:
    scope: dict[str, Any] = {"query_string": b"alt=sse&key=secret-1", "headers": []}
    out = query_key(scope)
    assert out["query_string"] == b"alt=sse"
    assert (b"x-goog-api-key", b"secret-1") in out["headers"]
    given: dict[str, Any] = {"query_string": b"key=a", "headers": [(b"x-goog-api-key", b"b")]}
    out = query_key(given)
    assert out["headers"] == [(b"x-goog-api-key", b"b")]
    assert out["query_string"] == b""
    plain: dict[str, Any] = {"query_string": b"alt=sse", "headers": []}
    assert query_key(plain) is plain
