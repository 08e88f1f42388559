"""The Cohere surfaces under the real guardrails: texts found where Cohere puts them, streams
guarded event by event, tool calls judged whole, usage read from `message-end`."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade._core import SseParser
from palisade.errors import GuardrailViolation, UpstreamUnreachable
from palisade.pipeline.context import RequestContext
from palisade.pipeline.guard_in import guard_request
from palisade.pipeline.guard_out import StreamBlocked, StreamGuard, guard_answer
from palisade.pricing import Usage
from palisade.providers.base import Event
from palisade.providers.cohere import CHAT, COHERE, EMBED
from palisade.providers.cohere.stream import read_usage
from palisade.providers.cohere.usage import usage_of
from tests.providers.guard_config import EMAIL, SECRET, guard_context

USAGE = {
    "billed_units": {"input_tokens": 11, "output_tokens": 9},
    "tokens": {"input_tokens": 18, "output_tokens": 9},
}


def context(proxy: str, body: dict[str, Any] | None = None) -> RequestContext:
    return guard_context(CHAT, proxy, body)


def test_request_texts_are_found_everywhere_cohere_puts_them() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "hello"}]},
            {
                "role": "assistant",
                "tool_plan": "I will search.",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "search", "arguments": '{"q": "cats"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "plain result"},
            {
                "role": "tool",
                "tool_call_id": "c1",
                "content": [
                    {"type": "text", "text": "text part"},
                    {"type": "document", "document": {"data": {"title": "t", "n": 3}}},
                ],
            },
        ],
        "documents": ["a doc", {"id": "d", "data": {"snippet": "snip"}}, 42],
        "tools": [{"type": "function", "function": {"name": "search", "description": "find"}}],
    }
    found = {(s.role, s.text, s.tool) for s in CHAT.request_texts(body)}
    assert found == {
        ("system", "sys", None),
        ("user", "hello", None),
        ("assistant", "I will search.", None),
        ("tool_call", '{"q": "cats"}', None),
        ("tool", "plain result", "search"),
        ("tool", "text part", "search"),
        ("tool", "t", "search"),
        ("user", "a doc", None),
        ("user", "snip", None),
        ("tool_description", "find", None),
    }


def test_odd_bodies_are_walked_without_raising() -> None:
    body: dict[str, Any] = {
        "messages": ["x", {"role": 3, "content": {"a": 1}}, {"tool_calls": "no"}],
        "documents": "no",
        "tools": [None, {"function": "x"}],
    }
    assert CHAT.request_texts(body) == []
    assert CHAT.answer_texts({"message": "x"}) == []
    assert CHAT.answer_tool_calls({"message": {"tool_calls": [None, {"function": 1}]}}) == []


def test_embed_texts_and_inputs_are_scanned() -> None:
    body = {
        "texts": ["one", 2],
        "inputs": [{"content": [{"type": "text", "text": "two"}, {"type": "image_url"}]}],
    }
    assert [s.text for s in EMBED.request_texts(body)] == ["one", "two"]
    assert EMBED.max_output_tokens(body, 100) == 0
    assert EMBED.request_stream({"stream": True}, {}) is False


def test_a_secret_in_a_document_is_blocked() -> None:
    with pytest.raises(GuardrailViolation):
        guard_request(context("blocking", {"documents": [{"data": {"body": SECRET}}]}))


def test_a_masked_request_and_its_restored_answer() -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": f"write to {EMAIL}"}]}
    ctx = context("masked", body)
    guard_request(ctx)
    assert body["messages"][0]["content"] == "write to [EMAIL_1]"
    answer = {
        "id": "x",
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "To [EMAIL_1]."}]},
        "usage": USAGE,
    }
    out = orjson.loads(guard_answer(ctx, orjson.dumps(answer), answer))
    assert out["message"]["content"][0]["text"] == f"To {EMAIL}."


def test_a_whole_answer_with_a_blocked_tool_call() -> None:
    ctx = context("agents")
    answer = {
        "id": "x",
        "finish_reason": "TOOL_CALL",
        "message": {
            "role": "assistant",
            "tool_plan": "Cleaning up.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "run_shell", "arguments": '{"command": "rm -rf ~"}'},
                }
            ],
        },
    }
    out = orjson.loads(guard_answer(ctx, orjson.dumps(answer), answer))
    assert "tool_calls" not in out["message"]
    assert "no-rm" in out["message"]["content"][0]["text"]
    assert out["finish_reason"] == "COMPLETE"


def ev(data: dict[str, Any]) -> Event:
    return (str(data["type"]), data)


def text_stream(pieces: list[str]) -> list[Event]:
    return [
        ev({"type": "message-start", "id": "m1", "delta": {"message": {"role": "assistant"}}}),
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
            for p in pieces
        ),
        ev(
            {
                "type": "citation-start",
                "index": 0,
                "delta": {"message": {"citations": {"start": 0}}},
            }
        ),
        ev({"type": "citation-end", "index": 0}),
        ev({"type": "content-end", "index": 0}),
        ev({"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": USAGE}}),
    ]


def run(ctx: RequestContext, events: list[Event]) -> list[dict[str, Any]]:
    guard = StreamGuard(ctx)
    transform = CHAT.stream_guard(guard)
    out: list[dict[str, Any]] = []
    for event in events:
        out += [data for _, data in transform.transform(event)]
    guard.finish()
    return out


def texts(events: list[dict[str, Any]]) -> str:
    return "".join(
        e["delta"]["message"]["content"]["text"] for e in events if e["type"] == "content-delta"
    )


@pytest.mark.parametrize("cut", range(1, len(SECRET), 6))
def test_a_secret_split_across_deltas_is_redacted_with_hold_back(cut: int) -> None:
    reply = f"Here it is: {SECRET} done"
    at = reply.index(SECRET) + cut
    out = run(context("redacting"), text_stream([reply[:at], reply[at:]]))
    text = texts(out)
    assert SECRET[:10] not in text
    assert SECRET[-10:] not in text
    assert text.startswith("Here it is: ")
    assert text.endswith(" done")
    kinds = [e["type"] for e in out]
    # The held tail leaves before its content's end; citations pass untouched.
    last_delta = max(i for i, k in enumerate(kinds) if k == "content-delta")
    assert kinds.index("content-end") > last_delta
    assert {"type": "citation-end", "index": 0} in out


@pytest.mark.parametrize("cut", range(1, len(SECRET), 9))
def test_a_secret_split_across_deltas_is_blocked(cut: int) -> None:
    reply = f"Here it is: {SECRET} done"
    at = reply.index(SECRET) + cut
    ctx = context("blocking")
    guard = StreamGuard(ctx)
    transform = CHAT.stream_guard(guard)
    sent: list[dict[str, Any]] = []

    def feed_all() -> None:
        for event in text_stream([reply[:at], reply[at:]]):
            sent.extend(data for _, data in transform.transform(event))
        guard.finish()

    with pytest.raises(StreamBlocked):
        feed_all()
    assert SECRET[:12] not in orjson.dumps(sent).decode()


def test_a_secret_in_the_tool_plan_is_redacted() -> None:
    plan = f"I will use {SECRET} now"
    at = plan.index(SECRET) + 8
    events = [
        ev({"type": "message-start", "id": "m"}),
        ev({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": plan[:at]}}}),
        ev({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": plan[at:]}}}),
        ev({"type": "message-end", "delta": {"finish_reason": "COMPLETE"}}),
    ]
    out = run(context("redacting"), events)
    text = "".join(
        e["delta"]["message"]["tool_plan"] for e in out if e["type"] == "tool-plan-delta"
    )
    assert SECRET[:10] not in text
    assert text.startswith("I will use ")
    assert text.endswith(" now")
    assert out[-1]["type"] == "message-end"


def tool_stream(command: str) -> list[Event]:
    args = orjson.dumps({"command": command}).decode()
    call = {"id": "c1", "type": "function", "function": {"name": "run_shell", "arguments": ""}}
    return [
        ev({"type": "message-start", "id": "m"}),
        ev({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "Running."}}}),
        ev({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": call}}}),
        *(
            ev(
                {
                    "type": "tool-call-delta",
                    "index": 0,
                    "delta": {
                        "message": {"tool_calls": {"function": {"arguments": args[i : i + 5]}}}
                    },
                }
            )
            for i in range(0, len(args), 5)
        ),
        ev({"type": "tool-call-end", "index": 0}),
        ev({"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": USAGE}}),
    ]


def test_a_streamed_tool_call_that_a_policy_blocks_becomes_text() -> None:
    out = run(context("agents"), tool_stream("rm -rf /"))
    assert not any(e["type"].startswith("tool-call") for e in out)
    assert "no-rm" in texts(out)
    kinds = [e["type"] for e in out]
    assert kinds[-4:] == ["content-start", "content-delta", "content-end", "message-end"]
    assert out[-1]["delta"]["finish_reason"] == "COMPLETE"


def test_an_allowed_tool_call_is_released_whole() -> None:
    out = run(context("agents"), tool_stream("ls -la"))
    arguments = "".join(
        e["delta"]["message"]["tool_calls"]["function"]["arguments"]
        for e in out
        if e["type"] == "tool-call-delta"
    )
    assert orjson.loads(arguments) == {"command": "ls -la"}
    assert [e["type"] for e in out if e["type"].startswith("tool-call")] == [
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
    ]
    assert out[-1]["delta"]["finish_reason"] == "TOOL_CALL"


def test_stream_usage_is_read_from_message_end() -> None:
    parser = SseParser()
    raw = b"".join(CHAT.frame(e) for e in text_stream(["Hi"]))
    events = parser.feed(raw)
    assert parser.finish() is False
    assert next(e.event for e in events) == "message-start"
    ctx = context("agents")
    read_usage(ctx, events)
    assert ctx.usage == Usage(11, 9)


def test_usage_prefers_billed_units_and_falls_back_to_tokens() -> None:
    assert usage_of({"usage": USAGE}) == Usage(11, 9)
    assert usage_of({"usage": {"tokens": {"input_tokens": 4.0, "output_tokens": 2.0}}}) == Usage(
        4, 2
    )
    assert usage_of({"usage": {"billed_units": {"input_tokens": 3}, "cached_tokens": 2}}) == Usage(
        3, 0, 2
    )
    assert usage_of({"meta": {"billed_units": {"input_tokens": 7}}}) == Usage(7, 0)
    assert usage_of({"usage": {"billed_units": {"search_units": 1}}}) is None
    assert usage_of({}) is None


def test_prompt_tokens_count_every_part() -> None:
    small = CHAT.prompt_tokens({"messages": [{"role": "user", "content": "hi"}]}, "command-a")
    big = CHAT.prompt_tokens(
        {
            "messages": [{"role": "user", "content": "hi"}],
            "documents": ["a long document " * 20],
            "tools": [{"type": "function", "function": {"name": "f"}}],
        },
        "command-a",
    )
    assert 0 < small < big
    assert CHAT.max_output_tokens({"max_tokens": 30}, 100) == 30
    assert CHAT.max_output_tokens({}, 100) == 100
    assert EMBED.prompt_tokens({"texts": ["hello world"]}, "embed-v4.0") > 0


def test_output_and_event_texts_for_counting() -> None:
    answer = {
        "message": {
            "content": [{"type": "text", "text": "a"}, {"type": "thinking", "thinking": "b"}],
            "tool_plan": "c",
            "tool_calls": [{"function": {"name": "d", "arguments": "e"}}],
        }
    }
    assert list(CHAT.output_texts(answer)) == ["a", "b", "c", "d", "e"]
    events = text_stream(["x", "y"])
    assert [t for e in events for t in CHAT.event_texts(e)] == ["", "x", "y"]


def test_errors_are_cohere_shaped() -> None:
    error = UpstreamUnreachable("Palisade: nobody home.")
    assert orjson.loads(COHERE.error_body(error)) == {"message": "Palisade: nobody home."}
    event = COHERE.error_event(error)
    assert event.startswith(b"event: message-end\ndata: ")
    data = orjson.loads(event.split(b"data: ", 1)[1])
    assert data["delta"] == {"finish_reason": "ERROR", "error": "Palisade: nobody home."}
    assert COHERE.credential({"authorization": "Bearer abc"}) == "abc"
    assert COHERE.credential({"x-api-key": "abc"}) is None
