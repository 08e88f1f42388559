from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from palisade._core import count_chat_tokens, count_tokens
from palisade.config import ProviderConfig
from palisade.pipeline.context import RequestContext
from palisade.pipeline.usage import account
from palisade.pricing import PriceTable, Usage
from palisade.providers import openai
from palisade.upstream.routing import Target
from tests.helpers.prices import library_rates

PRICES = PriceTable()
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the capital of France?"},
]


SURFACES = {s.endpoint: s for s in openai.SURFACES}


def context(
    endpoint: str = "chat/completions",
    body: dict[str, Any] | None = None,
    *,
    model: str = "gpt-4o",
    status: int | None = 200,
    forwarded: bool = True,
) -> RequestContext:
    ctx = RequestContext(surface=SURFACES[endpoint])
    ctx.body = body if body is not None else {"model": model, "messages": MESSAGES}
    ctx.model = model
    ctx.target = Target(ProviderConfig(name="p", base_url="http://x"), model, rewritten=False)
    ctx.status = status
    ctx.forwarded_body = orjson.dumps(ctx.body) if forwarded else None
    return ctx


def sse(*events: dict[str, Any] | str) -> bytes:
    return b"".join(
        b"data: " + (e.encode() if isinstance(e, str) else orjson.dumps(e)) + b"\n\n"
        for e in events
    )


def test_the_providers_usage_wins() -> None:
    ctx = context()
    ctx.usage = Usage.from_provider(
        {
            "prompt_tokens": 1000,
            "completion_tokens": 200,
            "prompt_tokens_details": {"cached_tokens": 400},
            "completion_tokens_details": {"reasoning_tokens": 50},
        }
    )
    usage = account(ctx, PRICES, b"{}")
    assert usage == Usage(1000, 200, 400, 50)
    assert ctx.tokens_counted is False
    price = library_rates("gpt-4o")
    expected = (
        600 * price["input_mtok"] + 400 * price["cache_read_mtok"] + 200 * price["output_mtok"]
    )
    assert ctx.cost_usd == pytest.approx(float(expected) / 1e6)


def test_without_usage_a_chat_answer_is_counted() -> None:
    ctx = context()
    answer = {
        "choices": [
            {"message": {"role": "assistant", "content": "Paris is the capital of France."}}
        ]
    }
    usage = account(ctx, PRICES, orjson.dumps(answer))
    assert ctx.tokens_counted is True
    assert usage.input_tokens == count_chat_tokens(orjson.dumps(MESSAGES), "gpt-4o")
    assert usage.output_tokens == count_tokens("Paris is the capital of France.")
    assert ctx.cost_usd == pytest.approx(PRICES.cost("gpt-4o", usage))


def test_without_usage_a_stream_counts_what_the_client_got() -> None:
    text = "The capital of France is Paris, on the Seine."
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
    stream = sse(
        *({"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces),
        "[DONE]",
    )
    ctx = context(body={"model": "gpt-4o", "messages": MESSAGES, "stream": True})
    # The network cut the bytes anywhere, events included.
    ctx.sent_chunks = [stream[i : i + 17] for i in range(0, len(stream), 17)]
    usage = account(ctx, PRICES, None)
    assert ctx.tokens_counted is True
    assert usage.output_tokens == count_tokens(text)  # the whole text, not piece by piece
    assert usage.output_tokens < sum(count_tokens(p) for p in pieces)


def test_streamed_tool_call_arguments_count() -> None:
    delta = {"tool_calls": [{"index": 0, "function": {"name": "get_weather", "arguments": ""}}]}
    args = {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Paris"}'}}]}
    ctx = context()
    ctx.sent_chunks = [
        sse({"choices": [{"delta": delta}]}, {"choices": [{"delta": args}]}, "[DONE]")
    ]
    usage = account(ctx, PRICES, None)
    assert usage.output_tokens == count_tokens('get_weather{"city": "Paris"}')


def test_responses_api_text_is_counted() -> None:
    body = {"model": "gpt-4o", "input": "Capital of France?", "instructions": "Be brief."}
    ctx = context("responses", body)
    ctx.sent_chunks = [
        sse(
            {"type": "response.output_text.delta", "delta": "Paris"},
            {"type": "response.output_text.delta", "delta": " it is."},
        )
    ]
    usage = account(ctx, PRICES, None)
    assert usage.input_tokens == count_tokens("Be brief.") + count_tokens("Capital of France?")
    assert usage.output_tokens == count_tokens("Paris it is.")
    answer = {"output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi"}]}]}
    ctx = context("responses", body)
    assert account(ctx, PRICES, orjson.dumps(answer)).output_tokens == count_tokens("Hi")


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        ("completions", {"prompt": "Once upon a time"}, count_tokens("Once upon a time")),
        ("completions", {"prompt": ["a cat", "a dog"]}, 2 * count_tokens("a cat")),
        ("embeddings", {"input": [[1, 2, 3], [4, 5]]}, 5),
        ("embeddings", {"input": "vector me"}, count_tokens("vector me", "cl100k_base")),
    ],
)
def test_other_endpoints_count_their_input(
    endpoint: str, body: dict[str, Any], expected: int
) -> None:
    model = "text-embedding-3-small" if endpoint == "embeddings" else "gpt-4o"
    ctx = context(endpoint, {"model": model, **body}, model=model)
    assert account(ctx, PRICES, b'{"data": []}').input_tokens == expected


def test_nothing_forwarded_costs_nothing() -> None:
    ctx = context(status=None, forwarded=False)
    assert account(ctx, PRICES, b'{"error": {}}') == Usage()
    assert ctx.cost_usd == 0.0
    assert ctx.tokens_counted is False
    # A provider error: it answered, but generated nothing.
    ctx = context(status=500)
    assert account(ctx, PRICES, b'{"error": {}}') == Usage()
    assert ctx.tokens_counted is False


def test_an_unknown_model_has_no_cost() -> None:
    ctx = context(model="house-model-7")
    ctx.usage = Usage(10, 5)
    assert account(ctx, PRICES, None) == Usage(10, 5)
    assert ctx.cost_usd is None


def test_garbage_answers_count_as_nothing() -> None:
    ctx = context()
    assert account(ctx, PRICES, b"not json").output_tokens == 0
    ctx = context(body={"model": "gpt-4o", "messages": "not a list"})
    assert account(ctx, PRICES, json.dumps({"choices": "x"}).encode()) == Usage()
