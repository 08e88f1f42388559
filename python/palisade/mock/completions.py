"""`POST /v1/completions`, the legacy text completions, non-stream and stream."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response

from palisade.mock import params
from palisade.mock.content import answer_text, count_tokens, seed, split_chunks
from palisade.mock.errors import InvalidRequest
from palisade.mock.ids import new_id
from palisade.mock.knobs import Knobs
from palisade.mock.sse import DONE, EventStream, data_event, pause
from palisade.mock.usage import completion_usage

# The legacy endpoint's documented default, which is why short limits are common there.
DEFAULT_MAX_TOKENS = 16


def _prompts(body: dict[str, Any]) -> list[tuple[str, int]]:
    """Each prompt's text and token count; token-id prompts have no text but a known count."""
    prompt = body.get("prompt", "<|endoftext|>")
    if isinstance(prompt, str):
        return [(prompt, count_tokens(prompt))]
    if isinstance(prompt, list) and prompt:
        if all(isinstance(p, str) for p in prompt):
            return [(p, count_tokens(p)) for p in prompt]
        if all(isinstance(t, int) for t in prompt):
            return [(" ".join(map(str, prompt)), len(prompt))]
        if all(isinstance(p, list) and all(isinstance(t, int) for t in p) for p in prompt):
            return [(" ".join(map(str, p)), len(p)) for p in prompt]
    raise InvalidRequest(
        "Invalid type for 'prompt': expected a string, an array of strings or of tokens.",
        param="prompt",
        code="invalid_type",
    )


async def completions(body: dict[str, Any], knobs: Knobs) -> Response:
    model = params.model(body)
    prompts = _prompts(body)
    n = params.optional_int(body, "n", 1, 128) or 1
    limit = params.optional_int(body, "max_tokens", 0, 1 << 31)
    limit = DEFAULT_MAX_TOKENS if limit is None else limit
    echo = body.get("echo") is True
    choices: list[tuple[str, str]] = []
    completion_tokens = 0
    for prompt, _ in prompts:
        for i in range(n):
            text, finish = answer_text(
                seed(model, prompt, str(i)), knobs.reply, limit, body.get("stop")
            )
            completion_tokens += count_tokens(text)
            choices.append((prompt + text if echo else text, finish))
    usage = completion_usage(sum(tokens for _, tokens in prompts), completion_tokens)
    if params.stream(body):
        events = _events(model, choices, usage, params.include_usage(body), knobs)
        return EventStream(events, abort_after=knobs.abort_after)
    await pause(knobs.latency_ms)
    return params.json_response(
        {
            "id": new_id("cmpl-"),
            "object": "text_completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"text": text, "index": index, "logprobs": None, "finish_reason": finish}
                for index, (text, finish) in enumerate(choices)
            ],
            "usage": usage,
            "system_fingerprint": params.SYSTEM_FINGERPRINT,
        }
    )


async def _events(
    model: str,
    choices: list[tuple[str, str]],
    usage: dict[str, Any],
    include_usage: bool,
    knobs: Knobs,
) -> AsyncIterator[bytes]:
    await pause(knobs.latency_ms + knobs.ttft_ms)
    base: dict[str, Any] = {
        "id": new_id("cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": params.SYSTEM_FINGERPRINT,
    }
    if include_usage:
        base["usage"] = None

    # The fields shared by every chunk, serialized once per stream.
    head = b"data: " + orjson.dumps(base)[:-1] + b',"choices":['

    def chunk(index: int, text: str, finish_reason: str | None = None) -> bytes:
        choice = {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}
        return head + orjson.dumps(choice) + b"]}\n\n"

    per_choice = [split_chunks(text, knobs.chunks) if text else () for text, _ in choices]
    for step in range(max(map(len, per_choice))):
        if step >= 1:
            await pause(knobs.chunk_interval_ms)
        for index, pieces in enumerate(per_choice):
            if step < len(pieces):
                yield chunk(index, pieces[step])
    for index, (_, finish) in enumerate(choices):
        yield chunk(index, "", finish)
    if include_usage:
        yield data_event({**base, "choices": [], "usage": usage})
    yield DONE
