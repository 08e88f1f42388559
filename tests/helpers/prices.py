"""What genai-prices itself says a usage costs: the expectations of the pricing tests come from
the library's numbers, never from prices copied into a test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import Usage as LibraryUsage
from genai_prices import calc_price
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import ModelPrice

from palisade.pricing import Usage


def library_usage(usage: Usage) -> LibraryUsage:
    return LibraryUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )


def library_cost(model: str, usage: Usage, provider: str | None = None) -> float:
    return float(calc_price(library_usage(usage), model, provider_id=provider).total_price)


def library_price(model: str, provider: str | None = None) -> ModelPrice:
    """The model's prices as the database holds them today."""
    _, info = get_snapshot().find_provider_model(model, None, provider, None)
    return info.get_prices(datetime.now(UTC))


def library_rates(model: str, provider: str | None = None) -> dict[str, Decimal]:
    """The model's flat prices by the library's keys (`input_mtok`, `cache_read_mtok`, ...),
    for a model without tiers."""
    prices = library_price(model, provider)
    keys = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")
    return {k: v for k in keys if isinstance(v := getattr(prices, k), Decimal)}
