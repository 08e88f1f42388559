"""`POST /v1/messages` and `POST /v1/messages/count_tokens` (Anthropic's Messages API).

An answer is planned once from the request and then written whole or streamed
(`anthropic_stream`): a thinking block when thinking is on, then tool_use blocks or one text
block. As on the OpenAI side, tools are used only when told to (`tool_choice` `any` or `tool`,
or the `mock.tool_calls` knob), and a turn that returns tool results is answered with text
unless the knob says otherwise, so that a client's tool loop ends.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
from starlette.responses import Response

from palisade.mock import anthropic_request as read
from palisade.mock.anthropic_answer import Answer
from palisade.mock.anthropic_errors import OVERLOADED, error_event
from palisade.mock.anthropic_stream import events
from palisade.mock.content import count_tokens, reply_for, seed, truncate_tokens
from palisade.mock.errors import InvalidRequest
from palisade.mock.ids import new_id
from palisade.mock.knobs import Knobs
from palisade.mock.params import json_response
from palisade.mock.sse import EventStream, breaking_off, pause
from palisade.mock.tools import arguments_for


async def messages(body: dict[str, Any], knobs: Knobs) -> Response:
    answer = plan(body, knobs)
    if body.get("stream") is True:
        if not answer.content:
            raise InvalidRequest("max_tokens: must be at least 1 when streaming")
        stream = events(answer, knobs)
        if knobs.fail == "stream_error":
            stream = breaking_off(
                stream, knobs.fail_after_chunks, error_event("overloaded_error", OVERLOADED)
            )
        return EventStream(stream, abort_after=knobs.abort_after)
    await pause(knobs.latency_ms)
    return json_response(answer.message())


async def count_message_tokens(body: dict[str, Any], knobs: Knobs) -> Response:
    read.model(body)
    read.tool_choice(body, read.tools(body))
    prompt = read.prompt(body)
    await pause(knobs.latency_ms)
    return json_response({"input_tokens": prompt.tokens})


def plan(body: dict[str, Any], knobs: Knobs) -> Answer:
    model = read.model(body)
    limit = read.max_tokens(body)
    declared = read.tools(body)
    choice = read.tool_choice(body, declared)
    shows = read.thinking(body, limit, choice)
    stops = read.stop_sequences(body)
    prompt = read.prompt(body)
    key = seed(model, prompt.text)
    content: list[dict[str, Any]] = []
    spent = 0
    # Unless a block below says otherwise, max_tokens ran out first.
    stop_reason, stop_sequence = "max_tokens", None
    if shows is not None and limit:
        thought = reply_for(seed(key.hex(), "thinking"))
        if count_tokens(thought) > limit:
            thought = truncate_tokens(thought, limit)
        spent = count_tokens(thought)
        signature = base64.b64encode(hashlib.blake2b(key + thought.encode()).digest()).decode()
        shown = thought if shows == "summarized" else ""
        content.append({"type": "thinking", "thinking": shown, "signature": signature})
    uses = _tool_uses(knobs, declared, choice, prompt)
    if spent < limit and uses:
        for index, (name, arguments) in enumerate(uses):
            tool_id = f"toolu_{seed(key.hex(), str(index)).hex()[:24]}"
            content.append({"type": "tool_use", "id": tool_id, "name": name, "input": arguments})
            # An input is never cut short: half a JSON object would help no test.
            spent += count_tokens(name) + count_tokens(orjson.dumps(arguments).decode())
        stop_reason = "tool_use"
    elif spent < limit:
        text = knobs.reply if knobs.reply is not None else reply_for(key)
        text, stop_reason, stop_sequence = _cut(text, limit - spent, stops)
        content.append({"type": "text", "text": text})
        spent += count_tokens(text)
    return Answer(
        id=new_id("msg_"),
        model=model,
        content=tuple(content),
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_tokens=prompt.tokens - prompt.cached,
        cached_tokens=prompt.cached,
        output_tokens=spent,
    )


def _tool_uses(
    knobs: Knobs, declared: list[dict[str, Any]], choice: read.ToolChoice, prompt: read.Prompt
) -> list[tuple[str, dict[str, Any]]]:
    forced = knobs.forced_calls(prompt.tool_rounds)
    if forced is not None:
        return [(call.name, _input(call.arguments)) for call in forced]
    if prompt.answers_tool or not choice.forces:
        return []
    tool = next((t for t in declared if t["name"] == choice.name), declared[0])
    arguments = arguments_for(tool.get("input_schema"), tool["name"])
    return [(tool["name"], arguments if isinstance(arguments, dict) else {})]


def _input(arguments: str) -> dict[str, Any]:
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        # A tool_use input is an object on this wire, where OpenAI carries any string.
        raise InvalidRequest("mock.tool_calls[].arguments must be a JSON object here")
    return value


def _cut(text: str, limit: int, stops: list[str]) -> tuple[str, str, str | None]:
    """`text` as generated: up to the first stop sequence in it, then at most `limit` tokens."""
    hits = [(text.index(stop), stop) for stop in stops if stop in text]
    sequence = None
    if hits:
        at, sequence = min(hits, key=lambda hit: hit[0])
        text = text[:at]
    if count_tokens(text) > limit:
        return truncate_tokens(text, limit), "max_tokens", None
    return text, "end_turn" if sequence is None else "stop_sequence", sequence
