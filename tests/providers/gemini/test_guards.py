"""The Gemini surface under the real guardrails: texts found where Gemini puts them (both
spellings), streams guarded chunk by chunk with hold-back, function calls judged, usage read."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade._core import SseParser
from palisade.errors import GatewayError, GuardrailViolation
from palisade.pipeline.context import RequestContext
from palisade.pipeline.guard_in import guard_request
from palisade.pipeline.guard_out import StreamGuard, guard_answer
from palisade.pricing import Usage
from palisade.providers.base import Event
from palisade.providers.gemini import COUNT_TOKENS, GENERATE, STREAM_GENERATE
from palisade.providers.gemini.dialect import GEMINI
from tests.providers.guard_config import EMAIL, SECRET, guard_context


def context(proxy: str, body: dict[str, Any] | None = None) -> RequestContext:
    return guard_context(STREAM_GENERATE, proxy, body)


def test_request_texts_are_found_in_every_part_kind_and_spelling() -> None:
    body = {
        "system_instruction": {"parts": [{"text": "sys"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "hello"}, {"inlineData": {"data": "AAAA"}}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "search", "args": {"q": "cats", "n": 3}}}],
            },
            {
                "role": "user",
                "parts": [
                    {"function_response": {"name": "search", "response": {"result": "found"}}}
                ],
            },
        ],
        "tools": [{"functionDeclarations": [{"name": "search", "description": "find things"}]}],
    }
    found = {(s.role, s.text, s.tool) for s in GENERATE.request_texts(body)}
    assert found == {
        ("system", "sys", None),
        ("user", "hello", None),
        ("tool_call", "cats", None),
        ("tool", "found", "search"),
        ("tool_description", "find things", None),
    }
    paths = {s.path for s in GENERATE.request_texts(body)}
    assert ("system_instruction", "parts", 0, "text") in paths
    assert ("contents", 2, "parts", 0, "function_response", "response", "result") in paths


def test_count_tokens_requests_are_walked_inside_generate_content_request() -> None:
    body = {"generateContentRequest": {"contents": [{"parts": [{"text": "inner"}]}]}}
    assert [s.text for s in COUNT_TOKENS.request_texts(body)] == ["inner"]
    assert COUNT_TOKENS.prompt_tokens(body, "gemini-2.5-flash") > 0
    assert COUNT_TOKENS.max_output_tokens(body, 100) == 0
    assert COUNT_TOKENS.usage({"totalTokens": 9}) == Usage()


def test_a_secret_in_a_function_response_is_blocked() -> None:
    body = {
        "contents": [
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "f", "response": {"k": SECRET}}}],
            }
        ]
    }
    with pytest.raises(GuardrailViolation):
        guard_request(context("blocking", body))


def test_a_masked_request_keeps_non_text_parts() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": f"mail {EMAIL}"}, {"inlineData": {"data": "QQ=="}}]}
        ]
    }
    ctx = context("masked", body)
    guard_request(ctx)
    parts = ctx.body["contents"][0]["parts"]
    assert EMAIL not in parts[0]["text"]
    assert parts[1] == {"inlineData": {"data": "QQ=="}}


def chunk(text: str | None = None, finish: str | None = None, **extra: Any) -> Event:
    parts: list[dict[str, Any]] = [] if text is None else [{"text": text}]
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return ("message", {"candidates": [candidate], **extra})


def run(ctx: RequestContext, events: list[Event]) -> list[dict[str, Any]]:
    guard = StreamGuard(ctx)
    transform = STREAM_GENERATE.stream_guard(guard)
    out = []
    for event in events:
        out += [data for _, data in transform.transform(event)]
    guard.finish()
    return out


def texts(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        part.get("text", "")
        for c in chunks
        for cand in c.get("candidates", [])
        for part in cand.get("content", {}).get("parts", [])
    )


@pytest.mark.parametrize("cut", range(1, len(SECRET), 9))
def test_a_secret_split_across_chunks_is_redacted(cut: int) -> None:
    reply = f"Here it is: {SECRET} done"
    at = reply.index(SECRET) + cut
    out = run(context("redacted"), [chunk(reply[:at]), chunk(reply[at:], "STOP")])
    text = texts(out)
    assert SECRET[:12] not in text
    assert text.startswith("Here it is: ")
    assert text.endswith(" done")
    assert out[-1]["candidates"][0]["finishReason"] == "STOP"


@pytest.mark.parametrize("cut", range(1, len("[EMAIL_1]")))
def test_masked_values_are_restored_across_chunks(cut: int) -> None:
    ctx = context("masked", {"contents": [{"parts": [{"text": f"to {EMAIL}"}]}]})
    guard_request(ctx)
    reply = "Mailing [EMAIL_1] now."
    at = reply.index("[EMAIL_1]") + cut
    out = run(ctx, [chunk(reply[:at]), chunk(reply[at:]), chunk("", "STOP")])
    assert texts(out) == f"Mailing {EMAIL} now."


def call_chunk(command: str) -> Event:
    part = {"functionCall": {"name": "run_shell", "args": {"command": command}}}
    candidate = {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}
    return ("message", {"candidates": [candidate]})


def test_a_streamed_function_call_that_a_policy_blocks_becomes_text() -> None:
    out = run(context("agents"), [call_chunk("rm -rf /")])
    parts = out[0]["candidates"][0]["content"]["parts"]
    assert "functionCall" not in parts[0]
    assert "no-rm" in parts[0]["text"]


def test_an_allowed_function_call_passes_whole() -> None:
    out = run(context("agents"), [call_chunk("ls")])
    parts = out[0]["candidates"][0]["content"]["parts"]
    assert parts == [{"functionCall": {"name": "run_shell", "args": {"command": "ls"}}}]


def test_a_whole_answer_with_a_blocked_call() -> None:
    answer = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "run_shell", "args": {"command": "rm -rf /"}}}
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    ctx = context("agents")
    out = orjson.loads(guard_answer(ctx, orjson.dumps(answer), answer))
    [part] = out["candidates"][0]["content"]["parts"]
    assert "no-rm" in part["text"]


def test_usage_maps_cached_and_thinking_tokens() -> None:
    meta = {
        "promptTokenCount": 100,
        "cachedContentTokenCount": 40,
        "candidatesTokenCount": 20,
        "thoughtsTokenCount": 7,
        "toolUsePromptTokenCount": 3,
        "totalTokenCount": 130,
    }
    assert GENERATE.usage({"usageMetadata": meta}) == Usage(103, 27, 40, 7, 0)
    assert GENERATE.usage({"candidates": []}) is None


def test_a_stream_relayed_unchanged_keeps_the_last_usage() -> None:
    stream = (
        b'data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}],'
        b'"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5}}\r\n\r\n'
        b'data: {"candidates":[{"content":{"parts":[{"text":"b"}]},"finishReason":"STOP"}],'
        b'"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7}}'
        b"\r\n\r\n"
    )
    ctx = context("redacted")
    STREAM_GENERATE.read_usage(ctx, SseParser().feed(stream))
    assert ctx.usage == Usage(5, 2)


def test_the_path_carries_model_and_stream() -> None:
    assert STREAM_GENERATE.request_model({}, {"model": "m"}) == "m"
    assert STREAM_GENERATE.request_stream({}, {}) is True
    assert GENERATE.request_stream({}, {}) is False
    assert GENERATE.upstream_path("a/b?c", False) == "models/a%2Fb%3Fc:generateContent"
    assert GENERATE.upstream_path("m", True) == "models/m:streamGenerateContent?alt=sse"
    body: dict[str, Any] = {}
    GENERATE.set_model(body, "m")
    assert body == {}


def test_errors_are_written_as_google_writes_them() -> None:
    error = GatewayError("nope", status=429, code="rate_limited")
    body = orjson.loads(GEMINI.error_body(error))
    assert body["error"]["code"] == 429
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert body["error"]["message"] == "nope"
    assert body["error"]["details"][0]["reason"] == "rate_limited"
    event = GEMINI.error_event(error)
    assert event.startswith(b'data: {"error":')
    assert GEMINI.credential({"x-goog-api-key": " k "}) == "k"
    assert GEMINI.credential({"authorization": "Bearer t"}) == "t"
    assert GEMINI.credential({}) is None
