"""Stage 8, accounting: a call's tokens and cost.

The provider's usage object when it sent one; otherwise (a provider that reports none, a client
that left mid-stream) the Rust tokenizer counts the prompt the provider received and the answer
text the client got, and the context is marked `tokens_counted`. Counting only runs in that
case, once, when the request ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from palisade._core import SseParser, count_chat_tokens, count_tokens, encoding_for_model
from palisade.pipeline.context import RequestContext
from palisade.pricing import PriceTable, Usage

NO_TOKENS = Usage()


def served_model(ctx: RequestContext) -> str | None:
    return ctx.target.model if ctx.target is not None else None


def account(ctx: RequestContext, prices: PriceTable, answer: bytes | None) -> Usage:
    """Fills `ctx.tokens_counted` and `ctx.cost_usd` (None: the model has no price); `answer`
    is a non-stream answer's body as the client got it."""
    usage = Usage.from_provider(ctx.usage)
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


def count_usage(ctx: RequestContext, answer: bytes | None) -> Usage:
    model = served_model(ctx) or ""
    encoding = encoding_for_model(model)
    prompt = _prompt_tokens(ctx.endpoint, ctx.body, model, encoding)
    if ctx.sent_chunks is not None:
        texts = _stream_texts(ctx.sent_chunks)
    elif answer:
        try:
            obj = orjson.loads(answer)
        except orjson.JSONDecodeError:
            obj = None
        texts = _answer_texts(obj) if isinstance(obj, dict) else iter(())
    else:
        texts = iter(())
    # One text: counting the pieces one by one would break tokens at every chunk boundary.
    output = count_tokens("".join(texts), encoding)
    return Usage(input_tokens=prompt, output_tokens=output)


def _prompt_tokens(endpoint: str, body: dict[str, Any], model: str, encoding: str) -> int:
    if endpoint == "chat/completions":
        messages = body.get("messages")
        if isinstance(messages, list):
            tools = body.get("tools")
            try:
                return count_chat_tokens(
                    orjson.dumps(messages), model, orjson.dumps(tools) if tools else None
                )
            except ValueError:
                pass
        return 0
    if endpoint == "completions":
        return _count_values(body.get("prompt"), encoding)
    if endpoint == "embeddings":
        return _count_values(body.get("input"), encoding)
    if endpoint == "responses":
        texts = [body.get("instructions"), *_input_texts(body.get("input"))]
        return sum(count_tokens(t, encoding) for t in texts if isinstance(t, str))
    return 0


def _count_values(value: object, encoding: str) -> int:
    """A string, a list of strings, or token ids (lists of ints) as the APIs accept them."""
    if isinstance(value, str):
        return count_tokens(value, encoding)
    if isinstance(value, list):
        if value and all(isinstance(v, int) for v in value):
            return len(value)
        return sum(_count_values(v, encoding) for v in value)
    return 0


def _input_texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):
                continue
            content = item.get("content", item.get("output"))
            if isinstance(content, str):
                yield content
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        yield part["text"]
            if isinstance(item.get("arguments"), str):
                yield item["arguments"]


def _answer_texts(obj: dict[str, Any]) -> Iterator[str]:
    for choice in _dicts(obj.get("choices")):
        message = choice.get("message")
        if isinstance(message, dict):
            yield from _message_texts(message)
        elif isinstance(choice.get("text"), str):
            yield choice["text"]
    # Responses API
    for item in _dicts(obj.get("output")):
        if isinstance(item.get("arguments"), str):
            yield item["arguments"]
        for part in _dicts(item.get("content")):
            if isinstance(part.get("text"), str):
                yield part["text"]


def _message_texts(message: dict[str, Any]) -> Iterator[str]:
    for key in ("content", "refusal", "reasoning_content"):
        if isinstance(message.get(key), str):
            yield message[key]
    for call in _dicts(message.get("tool_calls")):
        function = call.get("function")
        if isinstance(function, dict):
            for key in ("name", "arguments"):
                if isinstance(function.get(key), str):
                    yield function[key]


def _stream_texts(chunks: Iterable[bytes]) -> Iterator[str]:
    parser = SseParser()
    for chunk in chunks:
        for event in parser.feed(chunk):
            try:
                obj = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue  # `[DONE]`
            if not isinstance(obj, dict):
                continue
            for choice in _dicts(obj.get("choices")):
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    yield from _message_texts(delta)
                elif isinstance(choice.get("text"), str):
                    yield choice["text"]
            if str(obj.get("type", "")).endswith(".delta") and isinstance(obj.get("delta"), str):
                yield obj["delta"]  # Responses API text and argument deltas


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
