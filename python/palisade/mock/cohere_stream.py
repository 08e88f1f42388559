"""A v2 chat answer as Cohere streams it (docs: v2/docs/streaming).

`message-start` (the message, empty), then either the tool plan (`tool-plan-delta`s) and per
tool call `tool-call-start` (id, name, empty arguments), its `tool-call-delta`s and
`tool-call-end`; or `content-start` (an empty text), its `content-delta`s, a `citation-start`
and `citation-end` pair per citation, and `content-end`; last `message-end` with the finish
reason and the usage. Each event is framed `event: <type>\\ndata: <json>\\n\\n`, the name
repeating the payload's `type`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from palisade.mock.cohere_answer import Answer
from palisade.mock.content import split_chunks
from palisade.mock.knobs import Knobs
from palisade.mock.sse import named_event, pause


def event(kind: str, **fields: Any) -> bytes:
    return named_event(kind, {"type": kind, **fields})


def _message(**fields: Any) -> dict[str, Any]:
    return {"message": fields}


async def events(answer: Answer, knobs: Knobs) -> AsyncGenerator[bytes, None]:
    await pause(knobs.latency_ms + knobs.ttft_ms)
    yield event(
        "message-start",
        id=answer.id,
        delta=_message(role="assistant", content=[], tool_plan="", tool_calls=[], citations=[]),
    )
    paced = False

    async def interval() -> None:
        nonlocal paced
        # The interval separates content pieces, as on the other sides; not the first one.
        if paced:
            await pause(knobs.chunk_interval_ms)
        paced = True

    if answer.tool_calls:
        for piece in split_chunks(answer.tool_plan or "", knobs.chunks):
            if piece:
                await interval()
                yield event("tool-plan-delta", delta=_message(tool_plan=piece))
        for index, call in enumerate(answer.tool_calls):
            fn = call["function"]
            start = {**call, "function": {"name": fn["name"], "arguments": ""}}
            yield event("tool-call-start", index=index, delta=_message(tool_calls=start))
            for piece in split_chunks(fn["arguments"], knobs.chunks):
                if piece:
                    await interval()
                    arguments = {"function": {"arguments": piece}}
                    yield event(
                        "tool-call-delta", index=index, delta=_message(tool_calls=arguments)
                    )
            yield event("tool-call-end", index=index)
    else:
        text = answer.text or ""
        yield event("content-start", index=0, delta=_message(content={"type": "text", "text": ""}))
        pieces = (
            knobs.reply_chunks
            if knobs.reply_chunks and text == knobs.reply
            else split_chunks(text, knobs.chunks)
        )
        for piece in pieces:
            if piece:
                await interval()
                yield event("content-delta", index=0, delta=_message(content={"text": piece}))
        for index, citation in enumerate(answer.citations):
            yield event("citation-start", index=index, delta=_message(citations=citation))
            yield event("citation-end", index=index)
        yield event("content-end", index=0)
    yield event(
        "message-end",
        delta={"finish_reason": answer.finish_reason, "usage": answer.usage()},
    )
