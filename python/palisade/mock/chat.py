"""`POST /v1/chat/completions`, non-stream and stream."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from palisade.mock import params
from palisade.mock.content import answer_text, chat_prompt, count_tokens, seed, split_chunks
from palisade.mock.ids import new_id
from palisade.mock.knobs import Knobs, ToolCallSpec
from palisade.mock.sse import DONE, EventStream, data_event, pause
from palisade.mock.tools import planned_calls
from palisade.mock.usage import chat_usage


@dataclass(frozen=True, slots=True)
class _Choice:
    text: str | None
    calls: tuple[tuple[str, ToolCallSpec], ...]
    """(call id, call) pairs."""
    finish_reason: str
    completion_tokens: int


async def chat_completions(body: dict[str, Any], knobs: Knobs) -> Response:
    model = params.model(body)
    messages = params.required_list(body, "messages")
    n = params.optional_int(body, "n", 1, 128) or 1
    limit = params.optional_int(body, "max_completion_tokens", 1, 1 << 31)
    if limit is None:
        limit = params.optional_int(body, "max_tokens", 1, 1 << 31)
    prompt, prompt_tokens = chat_prompt(messages)
    tools = body.get("tools")
    if tools:
        prompt_tokens += count_tokens(orjson.dumps(tools).decode())
    calls = planned_calls(body, knobs)
    choices = [_choice(model, prompt, i, calls, knobs, limit, body.get("stop")) for i in range(n)]
    usage = chat_usage(prompt_tokens, sum(c.completion_tokens for c in choices))
    if params.stream(body):
        events = _events(model, choices, usage, params.include_usage(body), knobs)
        return EventStream(events, abort_after=knobs.abort_after)
    await pause(knobs.latency_ms)
    return params.json_response(
        {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": index,
                    "message": _message(choice),
                    "logprobs": None,
                    "finish_reason": choice.finish_reason,
                }
                for index, choice in enumerate(choices)
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": params.SYSTEM_FINGERPRINT,
        }
    )


def _choice(
    model: str,
    prompt: str,
    index: int,
    calls: tuple[ToolCallSpec, ...] | None,
    knobs: Knobs,
    limit: int | None,
    stop: Any,
) -> _Choice:
    key = seed(model, prompt, str(index))
    if calls:
        numbered = tuple(
            (f"call_{seed(key.hex(), str(i)).hex()[:24]}", call) for i, call in enumerate(calls)
        )
        tokens = sum(count_tokens(c.name) + count_tokens(c.arguments) for c in calls)
        return _Choice(None, numbered, "tool_calls", tokens)
    text, finish_reason = answer_text(key, knobs.reply, limit, stop)
    return _Choice(text, (), finish_reason, count_tokens(text))


def _message(choice: _Choice) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": choice.text,
        "refusal": None,
        "annotations": [],
    }
    if choice.calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call_id, call in choice.calls
        ]
    return message


def _deltas(choice: _Choice, knobs: Knobs) -> list[dict[str, Any]]:
    """The deltas of one choice; the first carries the role, like the real API's."""
    chunks = knobs.chunks
    if choice.text is not None:
        split = (
            knobs.reply_chunks
            if knobs.reply_chunks and choice.text == knobs.reply
            else split_chunks(choice.text, chunks)
        )
        pieces = [{"content": piece} for piece in split if piece]
        return [{"role": "assistant", "content": "", "refusal": None}, *pieces]
    deltas: list[dict[str, Any]] = []
    for index, (call_id, call) in enumerate(choice.calls):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        deltas.append({"tool_calls": [head]})
        for piece in split_chunks(call.arguments, chunks):
            if piece:
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    deltas[0] = {"role": "assistant", "content": None, "refusal": None, **deltas[0]}
    return deltas


async def _events(
    model: str,
    choices: list[_Choice],
    usage: dict[str, Any],
    include_usage: bool,
    knobs: Knobs,
) -> AsyncIterator[bytes]:
    await pause(knobs.latency_ms + knobs.ttft_ms)
    base: dict[str, Any] = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": params.SYSTEM_FINGERPRINT,
    }
    if include_usage:
        base["usage"] = None

    # The fields shared by every chunk, serialized once per stream.
    head = b"data: " + orjson.dumps(base)[:-1] + b',"choices":['

    def chunk(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return head + orjson.dumps(choice) + b"]}\n\n"

    per_choice = [_deltas(choice, knobs) for choice in choices]
    # Step 0 is the role delta; the interval separates the content chunks that follow it.
    for step in range(max(map(len, per_choice))):
        if step >= 2:
            await pause(knobs.chunk_interval_ms)
        for index, deltas in enumerate(per_choice):
            if step < len(deltas):
                yield chunk(index, deltas[step])
    for index, choice in enumerate(choices):
        yield chunk(index, {}, choice.finish_reason)
    if include_usage:
        yield data_event({**base, "choices": [], "usage": usage})
    yield DONE
