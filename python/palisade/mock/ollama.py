"""`POST /api/chat`, Ollama's native chat: a whole answer with `"stream": false`, else NDJSON
lines (`application/x-ndjson`), the last with `"done": true` and the counts. No credential, as a
local Ollama server; the same knobs as the other endpoints (`reply`, `reply_chunks`,
`tool_calls`, latencies)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from palisade.mock import params
from palisade.mock.content import answer_text, chat_prompt, count_tokens, seed, split_chunks
from palisade.mock.errors import InvalidRequest
from palisade.mock.knobs import Knobs
from palisade.mock.openai_dialect import OpenAIDialect
from palisade.mock.sse import EventStream, pause
from palisade.mock.tools import planned_calls

NDJSON = "application/x-ndjson"


class OllamaDialect(OpenAIDialect):
    """No credential; errors are `{"error": "..."}`."""

    not_json = "invalid character in request body"

    def gate(self, request: Request, request_id: str) -> Response | None:
        return None

    def refuse(self, error: InvalidRequest, request_id: str) -> Response:
        return Response(orjson.dumps({"error": str(error)}), 400, media_type="application/json")

    def headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return []


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def ollama_chat(body: dict[str, Any], knobs: Knobs) -> Response:
    model = params.model(body)
    messages = params.required_list(body, "messages")
    options = body.get("options") if isinstance(body.get("options"), dict) else {}
    assert isinstance(options, dict)
    limit = options.get("num_predict")
    limit = limit if isinstance(limit, int) and limit > 0 else None
    prompt, prompt_tokens = chat_prompt(messages)
    calls = planned_calls(body, knobs)
    started = time.perf_counter_ns()
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    if calls:
        message["tool_calls"] = [
            {"function": {"name": c.name, "arguments": orjson.loads(c.arguments or "{}")}}
            for c in calls
        ]
        reason, text = "stop", ""
        eval_count = sum(count_tokens(c.name) + count_tokens(c.arguments) for c in calls)
    else:
        text, reason = answer_text(
            seed(model, prompt, "0"), knobs.reply, limit, options.get("stop")
        )
        eval_count = count_tokens(text)
    last = {
        "model": model,
        "created_at": _now(),
        "message": message,
        "done": True,
        "done_reason": reason,
        "prompt_eval_count": prompt_tokens,
        "eval_count": eval_count,
    }
    if body.get("stream", True) is False:
        await pause(knobs.latency_ms)
        message["content"] = text
        last["total_duration"] = time.perf_counter_ns() - started
        return params.json_response(last)
    pieces = (
        knobs.reply_chunks
        if knobs.reply_chunks and text == knobs.reply
        else split_chunks(text, knobs.chunks)
    )
    stream = EventStream(_lines(model, pieces, last, knobs), abort_after=knobs.abort_after)
    stream.raw_headers = [(k, v) for k, v in stream.raw_headers if k != b"content-type"] + [
        (b"content-type", NDJSON.encode())
    ]
    return stream


async def _lines(
    model: str, pieces: tuple[str, ...] | list[str], last: dict[str, Any], knobs: Knobs
) -> AsyncIterator[bytes]:
    await pause(knobs.latency_ms + knobs.ttft_ms)
    for i, piece in enumerate(p for p in pieces if p):
        if i:
            await pause(knobs.chunk_interval_ms)
        line = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": piece},
            "done": False,
        }
        yield orjson.dumps(line) + b"\n"
    calls = last["message"].pop("tool_calls", None)
    if calls:
        line = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": "", "tool_calls": calls},
            "done": False,
        }
        yield orjson.dumps(line) + b"\n"
    yield orjson.dumps(last) + b"\n"
