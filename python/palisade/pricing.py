"""What a call costs: the price of a model, and the cost of one call's usage.

Prices come from genai-prices (pydantic/genai-prices, pinned in pyproject.toml), a maintained
database of the providers' list prices: per provider and model, input, output, cache-read and
cache-write prices, long-context tiers and the dates prices change. A model is matched by that
library's rules (`gpt-4o-2024-08-06` is gpt-4o; `o3-pro` is o3-pro, not o3): under the provider
the call went to when the database lists the model there, else under the provider its name
belongs to. `pricing:` in palisade.yaml wins over the database, for the model of that exact name
and for every name the database matches to a model of that id. A model priced by neither is
unpriced: its cost is None and the callers count it.

Only token prices and per-call fees count: web searches and audio or image tokens are not in
`Usage`. Batch, flex and priority prices are not applied (the standard price is).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice, TieredPrices


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens, and `request` USD per call (a few providers charge one). A cache
    price that is None: those tokens cost `input`. `tiers`: (prompt tokens, price), highest
    threshold first; a call whose prompt (cache reads and writes included) exceeds a threshold
    pays that tier's prices for all its tokens, the way long-context prices work."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    request: float = 0.0
    tiers: tuple[tuple[int, Price], ...] = ()

    def cost(self, usage: Usage) -> float:
        # Runs on every request: comparisons rather than min(), one unpacking of the usage.
        prompt, output, read, _, write = usage
        price = self
        for start, tier in self.tiers:
            if prompt > start:
                price = tier
                break
        if read > prompt:
            read = prompt
        if write > prompt - read:
            write = prompt - read
        inp, read_price, write_price = price.input, price.cache_read, price.cache_write
        return (
            (prompt - read - write) * inp
            + read * (inp if read_price is None else read_price)
            + write * (inp if write_price is None else write_price)
            + output * price.output
        ) / 1_000_000 + price.request


class Usage(NamedTuple):
    """One call's tokens. `input_tokens` is the whole prompt: its uncached tokens, the tokens
    read from the provider's cache (`cached_tokens`) and those written to it
    (`cache_write_tokens`), as OpenAI's usage objects count it. `output_tokens` includes
    `reasoning_tokens`. A NamedTuple: made once per request, and a frozen dataclass costs four
    times as much to make."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0

    @classmethod
    def from_provider(cls, usage: Mapping[str, Any] | None) -> Usage | None:
        """Reads a chat/completions/embeddings usage (`prompt_tokens`, ...), a Responses one
        (`input_tokens`, ...) or an Anthropic Messages one; None when it holds no token
        counts."""
        if not usage:
            return None
        inp = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
        out = _int(usage.get("completion_tokens", usage.get("output_tokens")))
        if inp is None and out is None:
            return None
        in_details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
        out_details = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
        cached = written = None
        if isinstance(in_details, dict):
            cached = _int(in_details.get("cached_tokens"))
            written = _int(in_details.get("cache_write_tokens"))  # OpenRouter's name
        read_apart = _int(usage.get("cache_read_input_tokens"))
        written_apart = _int(usage.get("cache_creation_input_tokens"))
        if read_apart or written_apart:
            # Anthropic's `input_tokens` leaves out the cache reads and writes.
            cached, written = read_apart, written_apart
            inp = (inp or 0) + (cached or 0) + (written or 0)
        reasoning = (
            _int(out_details.get("reasoning_tokens")) if isinstance(out_details, dict) else None
        )
        return cls(inp or 0, out or 0, cached or 0, reasoning or 0, written or 0)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# Model names come from clients: the cache is bounded, and cleared when full.
_CACHE_SIZE = 4096
# A price under a condition this module does not know is resolved again after this long.
_RECHECK_S = 3600.0
_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "requests_kcount")


class PriceTable:
    """The database's prices, and `prices` (model name or database model id -> price), which win
    over them."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._overrides: dict[str, Price] = dict(prices or {})
        self._snapshot = _snapshot()
        # (provider, model) -> (price, when it may change: epoch seconds). cost() runs on every
        # request; resolving a name walks the database's match rules and converts its prices
        # (20-65 µs measured, and the library's own calc_price 16-78 µs), a hit is a dict
        # lookup plus arithmetic (0.5 µs). benches/pricing_bench.py measures both.
        self._cache: dict[tuple[str | None, str], tuple[Price | None, float]] = {}

    def with_overrides(self, overrides: Mapping[str, Price]) -> PriceTable:
        return PriceTable({**self._overrides, **overrides})

    def lookup(self, model: str, provider: str | None = None) -> Price | None:
        """`provider`: the name or kind of the provider the call went to (`openai`, `gemini`,
        `bedrock`, ...), which picks that provider's price when the database has one."""
        key = (provider, model)
        entry = self._cache.get(key)
        if entry is None or entry[1] <= time.time():
            entry = self._resolve(model, provider)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
                # The library caches every name it resolved too: start its caches afresh.
                self._snapshot = _snapshot()
            self._cache[key] = entry
        return entry[0]

    def cost(self, model: str, usage: Usage, provider: str | None = None) -> float | None:
        """USD for `usage` on `model`; None when the model has no price."""
        price = self.lookup(model, provider)
        return None if price is None else price.cost(usage)

    def _resolve(self, model: str, provider: str | None) -> tuple[Price | None, float]:
        price = self._overrides.get(model)
        if price is not None:
            return price, math.inf
        found = self._find(model, provider)
        if found is None:
            return None, math.inf
        price = self._overrides.get(found.id)
        if price is not None:
            return price, math.inf
        now = datetime.now(UTC)
        return _price(found.get_prices(now)), _next_change(found, now)

    def _find(self, model: str, provider: str | None) -> ModelInfo | None:
        for hint in (provider, None) if provider else (None,):
            try:
                return self._snapshot.find_provider_model(model, None, hint, None)[1]
            except LookupError:
                continue
        return None


def _snapshot() -> DataSnapshot:
    # Imported here, not with the module: the database takes 31-35 ms to import (measured),
    # which a worker pays once at start (PriceTable is built in the lifespan) and the CLI,
    # which imports the config and so this module, never.
    from genai_prices.data_snapshot import DataSnapshot, get_snapshot

    return DataSnapshot(get_snapshot().providers, from_auto_update=False)


def _price(prices: ModelPrice) -> Price | None:
    from genai_prices.types import ModelPrice

    values: list[Decimal | TieredPrices | None] = [getattr(prices, k) for k in _KEYS]
    if values[0] is None and values[1] is None:
        # No price at all is the database's word for free (`:free` models, a subscription);
        # a price by other units only (hours of audio, pages) cannot cost a token usage.
        return Price(0.0, 0.0) if prices == ModelPrice() else None
    starts = sorted({t.start for v in values if _tiered(v) for t in v.tiers}, reverse=True)
    return replace(_at(values, 0), tiers=tuple((s, _at(values, s + 1)) for s in starts))


def _tiered(value: Decimal | TieredPrices | None) -> TypeGuard[TieredPrices]:
    return value is not None and not isinstance(value, Decimal)


def _at(values: list[Decimal | TieredPrices | None], prompt: int) -> Price:
    """The flat price of a call whose prompt has `prompt` tokens."""
    inp, out, read, write, per_thousand = (_rate(v, prompt) for v in values)
    return Price(inp or 0.0, out or 0.0, read, write, (per_thousand or 0.0) / 1000)


def _rate(value: Decimal | TieredPrices | None, prompt: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    # The library's rule: the last tier whose start the prompt exceeds.
    rate = value.base
    for tier in reversed(value.tiers):
        if prompt > tier.start:
            rate = tier.price
            break
    return float(rate)


def _next_change(model: ModelInfo, now: datetime) -> float:
    """When the model's price may change next (a dated price change, an off-peak window), in
    epoch seconds: the cache resolves it again then."""
    from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

    if not isinstance(model.prices, list):
        return math.inf
    soonest = math.inf
    for conditional in model.prices:
        constraint = conditional.constraint
        if constraint is None:
            continue
        if isinstance(constraint, StartDateConstraint):
            if constraint.start_date > now.date():
                start = datetime.combine(constraint.start_date, time_of_day(), UTC)
                soonest = min(soonest, start.timestamp())
        elif isinstance(constraint, TimeOfDateConstraint):
            for edge in (constraint.start_time, constraint.end_time):
                soonest = min(soonest, _next_time_of_day(edge, now))
        else:
            soonest = min(soonest, now.timestamp() + _RECHECK_S)
    return soonest


def _next_time_of_day(at: time_of_day, now: datetime) -> float:
    moment = datetime.combine(now.date() - timedelta(days=1), at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the library reads a naive time as UTC
    while moment <= now:
        moment += timedelta(days=1)
    return moment.timestamp()
