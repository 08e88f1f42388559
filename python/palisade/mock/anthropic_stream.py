"""A Messages answer as Anthropic streams it (docs: build-with-claude/streaming).

`message_start` (the message without content, usage with the input final and a placeholder
output), then per content block `content_block_start` (the block empty), its
`content_block_delta`s and `content_block_stop`, with one `ping` after the first block starts as
in the docs' example; `message_delta` (stop reason, cumulative usage) and `message_stop`. Each
event is framed `event: <type>\\ndata: <json>\\n\\n`, the name repeating the payload's `type`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import orjson

from palisade.mock.anthropic_answer import Answer
from palisade.mock.content import split_chunks
from palisade.mock.knobs import Knobs
from palisade.mock.sse import named_event, pause


def event(kind: str, **fields: Any) -> bytes:
    return named_event(kind, {"type": kind, **fields})


async def events(answer: Answer, knobs: Knobs) -> AsyncGenerator[bytes, None]:
    await pause(knobs.latency_ms + knobs.ttft_ms)
    yield event("message_start", message=answer.message(started=True))
    paced = False
    for index, block in enumerate(answer.content):
        yield event("content_block_start", index=index, content_block=_started(block))
        if index == 0:
            yield event("ping")
        for delta in _deltas(block, knobs):
            # The interval separates content pieces, as on the OpenAI side; not the first one.
            if paced:
                await pause(knobs.chunk_interval_ms)
            paced = True
            yield event("content_block_delta", index=index, delta=delta)
        yield event("content_block_stop", index=index)
    yield event(
        "message_delta",
        delta={"stop_reason": answer.stop_reason, "stop_sequence": answer.stop_sequence},
        usage={
            "input_tokens": answer.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": answer.cached_tokens,
            "output_tokens": answer.output_tokens,
        },
    )
    yield event("message_stop")


def _started(block: dict[str, Any]) -> dict[str, Any]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": ""}
    if kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {**block, "input": {}}


def _deltas(block: dict[str, Any], knobs: Knobs) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        text: str = block["text"]
        pieces = (
            knobs.reply_chunks
            if knobs.reply_chunks and text == knobs.reply
            else split_chunks(text, knobs.chunks)
        )
        return [{"type": "text_delta", "text": piece} for piece in pieces if piece]
    if kind == "thinking":
        thought = split_chunks(block["thinking"], knobs.chunks)
        return [
            *({"type": "thinking_delta", "thinking": piece} for piece in thought if piece),
            # The signature comes last, just before the block stops.
            {"type": "signature_delta", "signature": block["signature"]},
        ]
    arguments = orjson.dumps(block["input"]).decode()
    pieces = split_chunks(arguments, knobs.chunks)
    return [{"type": "input_json_delta", "partial_json": piece} for piece in pieces if piece]
