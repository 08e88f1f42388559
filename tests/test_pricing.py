from __future__ import annotations

import pytest

from palisade.pricing import DEFAULT_PRICES, Price, PriceTable, Usage


def test_the_table_covers_forty_models_across_providers() -> None:
    assert len(DEFAULT_PRICES) >= 40
    families = {"gpt-", "claude-", "gemini-", "mistral-", "llama-", "deepseek-", "grok-"}
    assert all(any(m.startswith(f) for m in DEFAULT_PRICES) for f in families)


def test_cost_splits_cached_input_and_output() -> None:
    table = PriceTable({"m": Price(2.0, 8.0, 0.5)})
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, cached_tokens=200_000)
    # 800k fresh * 2 + 200k cached * 0.5 + 500k out * 8, per million
    assert table.cost("m", usage) == pytest.approx(1.6 + 0.1 + 4.0)


def test_cached_tokens_without_a_cached_price_cost_the_input_price() -> None:
    table = PriceTable({"m": Price(1.0, 0.0)})
    assert table.cost("m", Usage(input_tokens=10, cached_tokens=10)) == pytest.approx(1e-5)


def test_dated_snapshots_cost_what_their_family_costs_and_unknown_models_are_none() -> None:
    table = PriceTable()
    assert table.lookup("gpt-4o-2024-08-06") == DEFAULT_PRICES["gpt-4o"]
    assert table.lookup("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert table.lookup("no-such-model") is None
    assert table.cost("no-such-model", Usage(1, 1)) is None


def test_overrides_replace_and_add() -> None:
    table = PriceTable().with_overrides({"gpt-4o": Price(1.0, 1.0), "house": Price(3.0, 3.0)})
    assert table.lookup("gpt-4o") == Price(1.0, 1.0)
    assert table.lookup("house") == Price(3.0, 3.0)
    assert table.lookup("gpt-5") == DEFAULT_PRICES["gpt-5"]


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
                "input_tokens_details": {"cached_tokens": 1},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
            Usage(7, 3, 1, 0),
        ),
        ({"prompt_tokens": 9, "total_tokens": 9}, Usage(9, 0, 0, 0)),
        ({"total_tokens": 9}, None),
        (None, None),
        ({"prompt_tokens": "x", "completion_tokens": -1}, None),
    ],
)
def test_usage_reads_chat_and_responses_shapes(
    usage: dict[str, object] | None, expected: Usage | None
) -> None:
    assert Usage.from_provider(usage) == expected
