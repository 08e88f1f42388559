"""Prices from the genai-prices database, overrides, cache and long-context prices, and the
usage objects they apply to. Expected costs come from the library's own numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import (
    ClauseEquals,
    ConditionalPrice,
    ModelInfo,
    ModelPrice,
    StartDateConstraint,
    TieredPrices,
    TimeOfDateConstraint,
)

from palisade.pricing import Price, PriceTable, Usage, _next_change, _price
from tests.helpers.prices import library_cost, library_price, library_rates, library_usage

TABLE = PriceTable()
USAGE = Usage(input_tokens=12_000, output_tokens=800, cached_tokens=4_000, cache_write_tokens=1_000)


def test_o3_pro_is_priced_as_o3_pro_not_as_o3() -> None:
    usage = Usage(input_tokens=10_000, output_tokens=2_000)
    assert TABLE.cost("o3-pro", usage, "openai") == pytest.approx(library_cost("o3-pro", usage))
    assert TABLE.lookup("o3-pro") != TABLE.lookup("o3")
    o3_pro = library_rates("o3-pro")
    assert TABLE.lookup("o3-pro") == Price(
        float(o3_pro["input_mtok"]), float(o3_pro["output_mtok"])
    )


@pytest.mark.parametrize("model", ["claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5"])
@pytest.mark.parametrize("provider", ["anthropic", None])
def test_current_claude_models_are_priced_from_the_database(
    model: str, provider: str | None
) -> None:
    assert TABLE.cost(model, USAGE, provider) == pytest.approx(library_cost(model, USAGE))


def test_cache_reads_and_writes_cost_their_own_prices() -> None:
    price = library_rates("claude-opus-4-6", "anthropic")
    usage = Usage(
        input_tokens=10_000, output_tokens=500, cached_tokens=6_000, cache_write_tokens=3_000
    )
    # `input_tokens` holds the reads and the writes: 1,000 tokens are neither.
    expected = (
        1_000 * price["input_mtok"]
        + 6_000 * price["cache_read_mtok"]
        + 3_000 * price["cache_write_mtok"]
        + 500 * price["output_mtok"]
    ) / 1_000_000
    cost = TABLE.cost("claude-opus-4-6", usage, "anthropic")
    assert cost == pytest.approx(float(expected))
    assert cost == pytest.approx(library_cost("claude-opus-4-6", usage, "anthropic"))
    assert price["cache_read_mtok"] < price["input_mtok"] < price["cache_write_mtok"]


def test_cache_tokens_without_a_cache_price_cost_the_input_price() -> None:
    table = PriceTable({"m": Price(1.0, 0.0)})
    assert table.cost("m", Usage(input_tokens=10, cached_tokens=4, cache_write_tokens=6)) == (
        pytest.approx(1e-5)
    )
    # Cache counts larger than the prompt are cut to it, never negative.
    table = PriceTable({"m": Price(2.0, 0.0, 1.0, 4.0)})
    assert table.cost("m", Usage(input_tokens=10, cached_tokens=8, cache_write_tokens=8)) == (
        pytest.approx((8 * 1.0 + 2 * 4.0) / 1e6)
    )


def test_a_long_prompt_pays_the_long_context_tier() -> None:
    price = library_price("gemini-2.5-pro", "google")
    tiered = price.input_mtok
    assert isinstance(tiered, TieredPrices)
    threshold = tiered.tiers[0].start
    short = Usage(input_tokens=threshold, output_tokens=1_000, cached_tokens=10_000)
    long = short._replace(input_tokens=threshold + 1)
    for usage in (short, long):
        assert TABLE.cost("gemini-2.5-pro", usage, "gemini") == pytest.approx(
            library_cost("gemini-2.5-pro", usage, "google")
        )
    low = TABLE.cost("gemini-2.5-pro", short, "gemini")
    high = TABLE.cost("gemini-2.5-pro", long, "gemini")
    assert low is not None
    assert high is not None
    # One token more, and every token (cached, output) pays the tier's price.
    assert high > low * 1.5
    output = price.output_mtok
    assert isinstance(output, TieredPrices)
    assert TABLE.cost("gemini-2.5-pro", Usage(threshold + 1, 1_000_000), "gemini") == (
        pytest.approx(
            float(tiered.tiers[0].price * (threshold + 1) / 1_000_000 + output.tiers[0].price)
        )
    )


def test_every_model_of_the_database_costs_what_the_library_says() -> None:
    """The conversion to flat prices and tiers loses nothing the library would charge for a
    token usage (per-call fees included)."""
    now = datetime.now(UTC)
    usages = [USAGE, Usage(300_000, 5_000, 50_000, 0, 20_000), Usage(0, 100)]
    compared = 0
    for provider in get_snapshot().providers:
        for model in provider.models:
            ours = _price(model.get_prices(now))
            if ours is None:  # priced by hours of audio or pages only
                continue
            for usage in usages:
                expected = model.calc_price(library_usage(usage), provider).total_price
                assert ours.cost(usage) == pytest.approx(float(expected), rel=1e-9, abs=1e-12), (
                    provider.id,
                    model.id,
                )
                compared += 1
    assert compared > 5_000


def test_the_library_matches_names_and_the_provider_picks_its_price() -> None:
    assert TABLE.lookup("gpt-4o-2024-08-06") == TABLE.lookup("gpt-4o")
    assert TABLE.lookup("gemini-2.5-flash", "gemini") == TABLE.lookup("gemini-2.5-flash", "google")
    # A provider the database does not know: the model's name alone decides.
    assert TABLE.lookup("gpt-4o", "my-house-proxy") == TABLE.lookup("gpt-4o", "openai")
    # Some names are only known under their provider.
    assert TABLE.lookup("text-embedding-3-small", "openai") is not None
    # The database's free models cost 0; they are not unpriced.
    assert TABLE.cost("mistral-nemo:free", USAGE, "mistral") == 0.0


def test_unknown_models_are_unpriced() -> None:
    assert TABLE.lookup("no-such-model") is None
    assert TABLE.cost("no-such-model", Usage(1, 1)) is None
    assert TABLE.cost("no-such-model", Usage(1, 1), "openai") is None


def test_overrides_win_by_name_and_by_database_id() -> None:
    table = PriceTable().with_overrides(
        {"gpt-4o": Price(1.0, 1.0), "house": Price(3.0, 3.0, 0.3, 3.75)}
    )
    assert table.lookup("gpt-4o", "openai") == Price(1.0, 1.0)
    # The database matches this name to its model `gpt-4o`: the override applies to it too.
    assert table.lookup("gpt-4o-2024-08-06") == Price(1.0, 1.0)
    assert table.lookup("house") == Price(3.0, 3.0, 0.3, 3.75)
    assert table.lookup("gpt-5") == TABLE.lookup("gpt-5")
    # An override replaces the database's tiers as well.
    flat = PriceTable({"gemini-2.5-pro": Price(1.0, 2.0)})
    assert flat.cost("gemini-2.5-pro", Usage(1_000_000, 0), "gemini") == pytest.approx(1.0)


def _info(*prices: ConditionalPrice) -> ModelInfo:
    return ModelInfo(id="m", match=ClauseEquals(equals="m"), prices=list(prices))


def test_a_price_is_resolved_again_when_it_may_change() -> None:
    flat = ModelPrice(input_mtok=Decimal(1), output_mtok=Decimal(2))
    dearer = ModelPrice(input_mtok=Decimal(2), output_mtok=Decimal(4))
    now = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    off_peak = _info(
        ConditionalPrice(prices=flat),
        ConditionalPrice(constraint=TimeOfDateConstraint(time(0, 30), time(16, 30)), prices=dearer),
    )
    assert _next_change(off_peak, now) == datetime(2026, 12, 5, 16, 30, tzinfo=UTC).timestamp()
    later = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
    assert _next_change(off_peak, later) == datetime(2026, 12, 6, 0, 30, tzinfo=UTC).timestamp()
    dated = _info(
        ConditionalPrice(prices=flat),
        ConditionalPrice(constraint=StartDateConstraint(date(2020, 1, 1)), prices=flat),
        ConditionalPrice(constraint=StartDateConstraint(date(2027, 1, 1)), prices=dearer),
    )
    assert _next_change(dated, now) == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert _next_change(ModelInfo(id="m", match=ClauseEquals(equals="m"), prices=flat), now) == (
        float("inf")
    )
    # An expired entry is looked up again.
    table = PriceTable()
    table._cache[("openai", "gpt-4o")] = (Price(9.0, 9.0), 0.0)
    assert table.lookup("gpt-4o", "openai") == TABLE.lookup("gpt-4o", "openai")


def test_the_cache_is_bounded() -> None:
    table = PriceTable()
    for i in range(5_000):
        table.lookup(f"client-made-{i}")
    assert len(table._cache) <= 4096
    assert table.lookup("gpt-4o") is not None


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 2},
            },
            Usage(10, 5, 4, 2),
        ),
        (
            {
                "input_tokens": 7,
                "output_tokens": 3,
                "input_tokens_details": {"cached_tokens": 1, "cache_write_tokens": 2},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
            Usage(7, 3, 1, 0, 2),
        ),
        (
            # Anthropic: `input_tokens` counts neither the cache reads nor the writes.
            {
                "input_tokens": 5,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 1000,
                "output_tokens": 9,
            },
            Usage(1105, 9, 1000, 0, 100),
        ),
        ({"prompt_tokens": 9, "total_tokens": 9}, Usage(9, 0, 0, 0)),
        ({"total_tokens": 9}, None),
        (None, None),
        ({"prompt_tokens": "x", "completion_tokens": -1}, None),
    ],
)
def test_usage_reads_chat_responses_and_anthropic_shapes(
    usage: dict[str, object] | None, expected: Usage | None
) -> None:
    assert Usage.from_provider(usage) == expected
