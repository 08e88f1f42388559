"""The Anthropic surface under the real guardrails: texts found where Anthropic puts them,
streams guarded event by event, tool_use blocks judged whole."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade._core import SseParser
from palisade.errors import GuardrailViolation
from palisade.pipeline.context import RequestContext
from palisade.pipeline.guard_in import guard_request
from palisade.pipeline.guard_out import StreamBlocked, StreamGuard, guard_answer
from palisade.pricing import Usage
from palisade.providers.anthropic import MESSAGES
from palisade.providers.anthropic.stream import read_usage
from palisade.providers.anthropic.translation import ChatToAnthropic
from palisade.providers.base import Event
from tests.providers.guard_config import EMAIL, SECRET, guard_context

USAGE_9 = {"output_tokens": 9}


def context(proxy: str, body: dict[str, Any] | None = None) -> RequestContext:
    return guard_context(MESSAGES, proxy, body)


def test_request_texts_are_found_in_every_block_kind() -> None:
    body = {
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "hello"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "secret thoughts", "signature": "sig"},
                    {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "cats"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "result text"},
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "doc"},
                    },
                ],
            },
        ],
        "tools": [{"name": "search", "description": "find things", "input_schema": {}}],
    }
    found = {(s.role, s.text, s.tool) for s in MESSAGES.request_texts(body)}
    assert found == {
        ("system", "sys", None),
        ("user", "hello", None),
        ("tool_call", "cats", None),
        ("tool", "result text", "search"),
        ("user", "doc", None),
        ("tool_description", "find things", None),
    }  # the thinking block is never a slot: its signature covers it


def test_a_masked_request_keeps_cache_control_and_thinking_untouched() -> None:
    thinking = {"type": "thinking", "thinking": f"mail {EMAIL}", "signature": "c2ln"}
    body: dict[str, Any] = {
        "model": "claude-x",
        "max_tokens": 10,
        "system": [{"type": "text", "text": "be nice", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": f"write to {EMAIL}"}]},
            {"role": "assistant", "content": [thinking, {"type": "text", "text": "ok"}]},
        ],
    }
    ctx = context("masked", body)
    guard_request(ctx)
    assert body["messages"][0]["content"][0]["text"] == "write to [EMAIL_1]"
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": f"mail {EMAIL}",
        "signature": "c2ln",
    }
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}


def test_a_secret_in_a_tool_result_is_blocked() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "x", "content": SECRET}],
            }
        ]
    }
    with pytest.raises(GuardrailViolation):
        guard_request(context("blocking", body))


def text_stream(pieces: list[str]) -> list[Event]:
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
            for p in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    return [(str(e["type"]), e) for e in events]


def run(ctx: RequestContext, events: list[Event]) -> list[dict[str, Any]]:
    guard = StreamGuard(ctx)
    transform = MESSAGES.stream_guard(guard)
    out = []
    for event in events:
        out += [data for _, data in transform.transform(event)]
    guard.finish()
    return out


def texts(events: list[dict[str, Any]]) -> str:
    return "".join(
        e["delta"]["text"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
    )


@pytest.mark.parametrize("cut", range(1, len(SECRET), 7))
def test_a_secret_split_across_text_deltas_never_reaches_the_client(cut: int) -> None:
    reply = f"Here it is: {SECRET} done"
    at = reply.index(SECRET) + cut
    ctx = context("blocking")
    guard = StreamGuard(ctx)
    transform = MESSAGES.stream_guard(guard)
    sent: list[dict[str, Any]] = []

    def feed_all() -> None:
        for event in text_stream([reply[:at], reply[at:]]):
            sent.extend(data for _, data in transform.transform(event))
        guard.finish()

    with pytest.raises(StreamBlocked):
        feed_all()
    assert SECRET[:12] not in orjson.dumps(sent).decode()


@pytest.mark.parametrize("cut", range(1, len("[EMAIL_1]")))
def test_masked_values_are_restored_across_deltas(cut: int) -> None:
    ctx = context("masked", {"messages": [{"role": "user", "content": f"to {EMAIL}"}]})
    guard_request(ctx)
    reply = "Mailing [EMAIL_1] now."
    at = reply.index("[EMAIL_1]") + cut
    out = run(ctx, text_stream([reply[:at], reply[at:]]))
    assert texts(out) == f"Mailing {EMAIL} now."
    # The held tail leaves before its block's stop.
    kinds = [e["type"] for e in out]
    assert kinds.index("content_block_stop") > max(
        i for i, k in enumerate(kinds) if k == "content_block_delta"
    )


def tool_stream(command: str) -> list[Event]:
    args = orjson.dumps({"command": command}).decode()
    block = {"type": "tool_use", "id": "toolu_1", "name": "run_shell", "input": {}}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": block},
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": args[i : i + 5]},
            }
            for i in range(0, len(args), 5)
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    return [(str(e["type"]), e) for e in events]


def test_a_streamed_tool_use_that_a_policy_blocks_becomes_text() -> None:
    out = run(context("agents"), tool_stream("rm -rf /"))
    assert not any(e.get("content_block", {}).get("type") == "tool_use" for e in out), (
        "the call never reaches the client"
    )
    assert "no-rm" in texts(out)
    [delta] = [e for e in out if e["type"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == "end_turn"


def test_an_allowed_tool_use_is_released_whole() -> None:
    out = run(context("agents"), tool_stream("ls -la"))
    partial = "".join(
        e["delta"]["partial_json"]
        for e in out
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    )
    assert orjson.loads(partial) == {"command": "ls -la"}
    [delta] = [e for e in out if e["type"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == "tool_use"


def test_a_whole_answer_with_a_blocked_tool_use() -> None:
    ctx = context("agents")
    answer = {
        "type": "message",
        "content": [
            {"type": "text", "text": "Running it."},
            {"type": "tool_use", "id": "t", "name": "run_shell", "input": {"command": "rm -rf ~"}},
        ],
        "stop_reason": "tool_use",
    }
    out = orjson.loads(guard_answer(ctx, orjson.dumps(answer), answer))
    assert [b["type"] for b in out["content"]] == ["text", "text"]
    assert "no-rm" in out["content"][1]["text"]
    assert out["stop_reason"] == "end_turn"


def test_stream_usage_is_read_from_start_and_delta_with_cache_figures() -> None:
    ctx = context("agents")
    start = {
        "type": "message_start",
        "message": {
            "usage": {
                "input_tokens": 10,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 20,
                "output_tokens": 1,
            }
        },
    }
    delta = {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 42}}
    raw = b"".join(
        f"event: {e['type']}\ndata: ".encode() + orjson.dumps(e) + b"\n\n" for e in (start, delta)
    )
    read_usage(ctx, SseParser().feed(raw))
    assert ctx.usage == Usage(
        input_tokens=130, output_tokens=42, cached_tokens=100, cache_write_tokens=20
    )


def test_a_translated_stream_that_stops_without_message_stop_ends_with_an_error() -> None:
    translation = ChatToAnthropic()
    translation.request({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    start: dict[str, Any] = {
        "type": "message_start",
        "message": {"id": "msg_1", "model": "m", "usage": {}},
    }
    block: dict[str, Any] = {
        "type": "content_block_start",
        "index": 0,
        "content_block": _text_block(),
    }
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "a"},
    }
    for event in (start, block, delta):
        translation.stream((str(event["type"]), event))
    tail = translation.finish()
    assert tail[-1][1]["error"]["code"] == "upstream_stream_interrupted"
    stop: dict[str, Any] = {"type": "message_stop"}
    finished = ChatToAnthropic()
    finished.request({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    for event in (start, block, delta, stop):
        finished.stream((str(event["type"]), event))
    assert finished.finish() == []


def _text_block() -> dict[str, Any]:
    return {"type": "text", "text": ""}
