"""Stage 8, accounting: a call's tokens and cost.

The provider's usage when it sent one; otherwise (a provider that reports none, a client that
left mid-stream) the Rust tokenizer counts the prompt the provider received and the answer text
the client got, and the context is marked `tokens_counted`. Counting only runs in that case,
once, when the request ends. Where the texts are is the client's surface's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson

from palisade._core import SseParser, count_tokens, encoding_for_model
from palisade.pipeline.context import RequestContext
from palisade.pricing import PriceTable, Usage
from palisade.providers.base import Surface

NO_TOKENS = Usage()


def served_model(ctx: RequestContext) -> str | None:
    return ctx.target.model if ctx.target is not None else None


def account(ctx: RequestContext, prices: PriceTable, answer: bytes | None) -> Usage:
    """Fills `ctx.tokens_counted` and `ctx.cost_usd` (None: the model has no price); `answer`
    is a non-stream answer's body as the client got it."""
    usage = ctx.usage
    if usage is None:
        if ctx.status == 200 and ctx.forwarded_body is not None:
            usage = count_usage(ctx, answer)
            ctx.tokens_counted = True
        else:
            usage = NO_TOKENS  # the provider generated nothing
    model = served_model(ctx)
    if not (usage.input_tokens or usage.output_tokens):
        ctx.cost_usd = 0.0
    else:
        target = ctx.target
        ctx.cost_usd = prices.cost(model, usage, target.provider.name) if model and target else None
    return usage


def prompt_tokens(ctx: RequestContext) -> int:
    """The request's prompt as the gateway counts it, for reservations and for a provider that
    reports no usage: one counter, so the two never disagree."""
    model = ctx.target.model if ctx.target is not None else (ctx.model or "")
    return ctx.surface.prompt_tokens(ctx.body, model)


def count_usage(ctx: RequestContext, answer: bytes | None) -> Usage:
    surface = ctx.surface
    if ctx.sent_chunks is not None:
        texts = _stream_texts(surface, ctx.sent_chunks)
    elif answer:
        try:
            obj = orjson.loads(answer)
        except orjson.JSONDecodeError:
            obj = None
        texts = surface.output_texts(obj) if isinstance(obj, dict) else iter(())
    else:
        texts = iter(())
    # One text: counting the pieces one by one would break tokens at every chunk boundary.
    output = count_tokens("".join(texts), encoding_for_model(served_model(ctx) or ""))
    return Usage(input_tokens=prompt_tokens(ctx), output_tokens=output)


def _stream_texts(surface: Surface, chunks: Iterable[bytes]) -> Iterator[str]:
    parser = SseParser()
    for chunk in chunks:
        for event in parser.feed(chunk):
            try:
                obj = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue  # `[DONE]`
            if isinstance(obj, dict):
                yield from surface.event_texts((event.event, obj))
