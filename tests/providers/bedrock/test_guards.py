"""The Converse surface under the real guardrails: texts found where Converse puts them, streams
guarded event by event (text blocks have no start event), toolUse blocks judged whole, usage."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade._core import EventStreamParser
from palisade.pipeline.context import RequestContext
from palisade.pipeline.guard_out import StreamGuard, guard_answer
from palisade.pricing import Usage
from palisade.providers.base import Event
from palisade.providers.bedrock import CONVERSE, CONVERSE_STREAM
from tests.providers.guard_config import SECRET, guard_context


def context(proxy: str, body: dict[str, Any] | None = None) -> RequestContext:
    return guard_context(CONVERSE_STREAM, proxy, body)


def test_request_texts_are_found_in_every_block_kind() -> None:
    body = {
        "system": [{"text": "sys"}, {"cachePoint": {"type": "default"}}],
        "messages": [
            {"role": "user", "content": [{"text": "hello"}]},
            {
                "role": "assistant",
                "content": [
                    {"reasoningContent": {"reasoningText": {"text": "hm", "signature": "s"}}},
                    {"toolUse": {"toolUseId": "t1", "name": "search", "input": {"q": "cats"}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "t1",
                            "content": [{"text": "result text"}, {"json": {"k": "json text"}}],
                        }
                    },
                    {"document": {"name": "d", "format": "txt", "source": {"text": "doc"}}},
                ],
            },
        ],
        "toolConfig": {"tools": [{"toolSpec": {"name": "search", "description": "find"}}]},
    }
    found = {(s.role, s.text, s.tool) for s in CONVERSE.request_texts(body)}
    assert found == {
        ("system", "sys", None),
        ("user", "hello", None),
        ("tool_call", "cats", None),
        ("tool", "result text", "search"),
        ("tool", "json text", "search"),
        ("user", "doc", None),
        ("tool_description", "find", None),
    }


def stream(pieces: list[str]) -> list[Event]:
    return [
        ("messageStart", {"role": "assistant"}),
        *(("contentBlockDelta", {"delta": {"text": p}, "contentBlockIndex": 0}) for p in pieces),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": {"inputTokens": 3, "outputTokens": 9, "totalTokens": 12}}),
    ]


def run(ctx: RequestContext, events: list[Event]) -> list[Event]:
    guard = StreamGuard(ctx)
    transform = CONVERSE_STREAM.stream_guard(guard)
    out: list[Event] = []
    for event in events:
        out += transform.transform(event)
    guard.finish()
    return out


def texts(events: list[Event]) -> str:
    return "".join(
        data["delta"].get("text", "") for name, data in events if name == "contentBlockDelta"
    )


@pytest.mark.parametrize("cut", range(1, len(SECRET), 9))
def test_a_secret_split_across_text_deltas_never_reaches_the_client(cut: int) -> None:
    reply = f"Here it is: {SECRET} done"
    at = reply.index(SECRET) + cut
    out = run(context("redacted"), stream([reply[:at], reply[at:]]))
    text = texts(out)
    assert SECRET not in text
    assert text.startswith("Here it is: ")
    assert text.endswith(" done")
    # The held tail goes out before the block stops.
    names = [name for name, _ in out]
    assert names.index("contentBlockStop") > max(
        i for i, n in enumerate(names) if n == "contentBlockDelta"
    )


def tool_stream(command: str) -> list[Event]:
    arguments = orjson.dumps({"command": command}).decode()
    start = {"toolUse": {"toolUseId": "t1", "name": "run_shell"}}
    return [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockStart", {"start": start, "contentBlockIndex": 0}),
        *(
            ("contentBlockDelta", {"delta": {"toolUse": {"input": piece}}, "contentBlockIndex": 0})
            for piece in (arguments[:7], arguments[7:])
        ),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "tool_use"}),
    ]


def test_a_streamed_tool_use_that_a_policy_blocks_becomes_text() -> None:
    out = run(context("agents"), tool_stream("rm -rf /"))
    assert all(name != "contentBlockStart" for name, _ in out)
    assert "no-rm" in texts(out)
    assert out[-1] == ("messageStop", {"stopReason": "end_turn"})


def test_an_allowed_tool_use_is_released_whole() -> None:
    out = run(context("agents"), tool_stream("ls"))
    deltas = [d for n, d in out if n == "contentBlockDelta"]
    assert [d["delta"]["toolUse"]["input"] for d in deltas] == ['{"command":"ls"}']
    assert out[-1] == ("messageStop", {"stopReason": "tool_use"})


def test_a_whole_answer_with_a_blocked_tool_use() -> None:
    ctx = context("agents")
    ctx.surface = CONVERSE
    use = {"toolUseId": "t1", "name": "run_shell", "input": {"command": "rm -rf /"}}
    answer: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"toolUse": use}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
    }
    out = orjson.loads(guard_answer(ctx, orjson.dumps(answer), answer))
    [block] = out["output"]["message"]["content"]
    assert "no-rm" in block["text"]
    assert out["stopReason"] == "end_turn"


def test_usage_of_answers_and_streams_counts_the_cache() -> None:
    usage = {
        "inputTokens": 10,
        "outputTokens": 4,
        "totalTokens": 44,
        "cacheReadInputTokens": 20,
        "cacheWriteInputTokens": 10,
    }
    expected = Usage(input_tokens=40, output_tokens=4, cached_tokens=20, cache_write_tokens=10)
    assert CONVERSE.usage({"usage": usage}) == expected
    ctx = context("masked")
    frames = b"".join(
        CONVERSE_STREAM.frame(e) for e in [*stream(["hi"]), ("metadata", {"usage": usage})]
    )
    CONVERSE_STREAM.read_usage(ctx, EventStreamParser().feed(frames))
    assert ctx.usage == expected


def test_path_model_and_stream_come_from_the_route() -> None:
    params = {"model": "us.anthropic.claude-3-5-haiku:0"}
    assert CONVERSE.request_model({"model": "ignored"}, params) == params["model"]
    assert CONVERSE.request_stream({}, params) is False
    assert CONVERSE_STREAM.request_stream({}, params) is True
    assert CONVERSE.upstream_path("a.b:0", stream=True) == "model/a.b%3A0/converse-stream"
    arn = "arn:aws:bedrock:us-east-1:1:inference-profile/x"
    assert CONVERSE.upstream_path(arn, stream=False) == (
        "model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse"
    )
    assert CONVERSE.upstream_path("..", stream=False) == "model/%2E%2E/converse"
    body: dict[str, Any] = {"messages": []}
    CONVERSE.set_model(body, "x")
    assert body == {"messages": []}
    assert CONVERSE.max_output_tokens({"inferenceConfig": {"maxTokens": 77}}, 5) == 77
    assert CONVERSE.max_output_tokens({}, 5) == 5
