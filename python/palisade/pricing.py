"""What a call costs: USD per million tokens by model, and the cost of one call's usage.

The table is a snapshot of the providers' list prices; `pricing:` in palisade.yaml overrides or
adds entries. A model is looked up by its exact name, then by its longest known prefix at a `-`
boundary, so dated snapshots (`gpt-4o-2024-08-06`) cost what their family costs. A model the
table does not know costs 0 and the caller counts it as unpriced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens. `cached_input` None: cached prompt tokens cost `input`."""

    input: float
    output: float
    cached_input: float | None = None


class Usage(NamedTuple):
    """One call's tokens. `input_tokens` includes `cached_tokens`, and `output_tokens` includes
    `reasoning_tokens`, as in OpenAI's usage objects. A NamedTuple: made once per request, and
    a frozen dataclass costs four times as much to make."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def from_provider(cls, usage: Mapping[str, Any] | None) -> Usage | None:
        """Reads a chat/completions/embeddings usage (`prompt_tokens`, ...) or a Responses one
        (`input_tokens`, ...); None when it holds no token counts."""
        if not usage:
            return None
        inp = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
        out = _int(usage.get("completion_tokens", usage.get("output_tokens")))
        if inp is None and out is None:
            return None
        in_details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
        out_details = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
        cached = _int(in_details.get("cached_tokens")) if isinstance(in_details, dict) else None
        reasoning = (
            _int(out_details.get("reasoning_tokens")) if isinstance(out_details, dict) else None
        )
        return cls(inp or 0, out or 0, cached or 0, reasoning or 0)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _p(inp: float, out: float, cached: float | None = None) -> Price:
    return Price(inp, out, cached)


# List prices in USD per million tokens (input, output, cached input).
DEFAULT_PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-5": _p(1.25, 10.0, 0.125),
    "gpt-5-mini": _p(0.25, 2.0, 0.025),
    "gpt-5-nano": _p(0.05, 0.40, 0.005),
    "gpt-4.1": _p(2.0, 8.0, 0.50),
    "gpt-4.1-mini": _p(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p(0.10, 0.40, 0.025),
    "gpt-4o": _p(2.50, 10.0, 1.25),
    "gpt-4o-mini": _p(0.15, 0.60, 0.075),
    "gpt-4-turbo": _p(10.0, 30.0),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    "o1": _p(15.0, 60.0, 7.50),
    "o3": _p(2.0, 8.0, 0.50),
    "o3-mini": _p(1.10, 4.40, 0.55),
    "o4-mini": _p(1.10, 4.40, 0.275),
    "text-embedding-3-small": _p(0.02, 0.0),
    "text-embedding-3-large": _p(0.13, 0.0),
    "text-embedding-ada-002": _p(0.10, 0.0),
    # Anthropic (cached input: cache reads)
    "claude-opus-4-5": _p(5.0, 25.0, 0.50),
    "claude-opus-4-1": _p(15.0, 75.0, 1.50),
    "claude-opus-4": _p(15.0, 75.0, 1.50),
    "claude-sonnet-4-5": _p(3.0, 15.0, 0.30),
    "claude-sonnet-4": _p(3.0, 15.0, 0.30),
    "claude-3-7-sonnet": _p(3.0, 15.0, 0.30),
    "claude-haiku-4-5": _p(1.0, 5.0, 0.10),
    "claude-3-5-haiku": _p(0.80, 4.0, 0.08),
    # Google
    "gemini-2.5-pro": _p(1.25, 10.0, 0.125),
    "gemini-2.5-flash": _p(0.30, 2.50, 0.03),
    "gemini-2.5-flash-lite": _p(0.10, 0.40, 0.01),
    "gemini-2.0-flash": _p(0.10, 0.40, 0.025),
    "gemini-2.0-flash-lite": _p(0.075, 0.30),
    # Mistral
    "mistral-large-latest": _p(2.0, 6.0),
    "mistral-medium-latest": _p(0.40, 2.0),
    "mistral-small-latest": _p(0.10, 0.30),
    "codestral-latest": _p(0.30, 0.90),
    "ministral-8b-latest": _p(0.10, 0.10),
    "open-mistral-nemo": _p(0.15, 0.15),
    # Groq
    "llama-3.3-70b-versatile": _p(0.59, 0.79),
    "llama-3.1-8b-instant": _p(0.05, 0.08),
    "openai/gpt-oss-120b": _p(0.15, 0.75),
    "openai/gpt-oss-20b": _p(0.10, 0.50),
    # DeepSeek
    "deepseek-chat": _p(0.28, 0.42, 0.028),
    "deepseek-reasoner": _p(0.28, 0.42, 0.028),
    # xAI
    "grok-4": _p(3.0, 15.0, 0.75),
    "grok-3-mini": _p(0.30, 0.50, 0.075),
}


class PriceTable:
    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._prices: dict[str, Price] = dict(DEFAULT_PRICES if prices is None else prices)
        self._cache: dict[str, Price | None] = {}

    def with_overrides(self, overrides: Mapping[str, Price]) -> PriceTable:
        return PriceTable({**self._prices, **overrides})

    def __len__(self) -> int:
        return len(self._prices)

    def lookup(self, model: str) -> Price | None:
        try:
            return self._cache[model]
        except KeyError:
            pass
        price = self._prices.get(model)
        name = model
        while price is None and "-" in name:
            name = name.rsplit("-", 1)[0]
            price = self._prices.get(name)
        if len(self._cache) < 4096:  # model names come from clients: bound the cache
            self._cache[model] = price
        return price

    def cost(self, model: str, usage: Usage) -> float | None:
        """USD for `usage` on `model`; None when the model has no price."""
        price = self.lookup(model)
        if price is None:
            return None
        cached = min(usage.cached_tokens, usage.input_tokens)
        cached_price = price.input if price.cached_input is None else price.cached_input
        return (
            (usage.input_tokens - cached) * price.input
            + cached * cached_price
            + usage.output_tokens * price.output
        ) / 1_000_000
