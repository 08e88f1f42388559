"""What a price costs: genai-prices' own lookup (uncached, and its `calc_price`) against
`PriceTable.cost` on a cache hit, per model, in process; and what loading the database adds to a
worker's start.

Usage: python benches/pricing_bench.py [--calls N] [--out bench-results/pricing.json]

Uncached means a fresh database snapshot for each call (the library caches the names it
resolved; a name the gateway has not seen yet, or one pushed out of its bounded cache, pays
this). The import time is measured in fresh interpreters: `import palisade.app`, then the first
`PriceTable()`, which imports the database.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from genai_prices import Usage as LibraryUsage
from genai_prices import calc_price

from palisade.pricing import PriceTable, Usage, _snapshot

CASES: list[tuple[str | None, str]] = [
    ("openai", "gpt-4o"),
    ("openai", "o3-pro"),
    ("anthropic", "claude-sonnet-4-5"),
    ("gemini", "gemini-2.5-pro"),
    ("mock", "gpt-4o-2024-08-06"),  # a provider the database does not know: matched by name
    ("openai", "nobody-knows-this-model"),
]
USAGE = Usage(input_tokens=12_000, output_tokens=800, cached_tokens=4_000, cache_write_tokens=1_000)

_IMPORT = """
import time
t0 = time.perf_counter()
import palisade.app
t1 = time.perf_counter()
from palisade.pricing import PriceTable
PriceTable()
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def samples(
    call: Callable[[], object], calls: int, before: Callable[[], None] | None = None
) -> float:
    """Median µs of `call`; `before` runs untimed ahead of each call."""
    out = []
    for _ in range(calls):
        if before is not None:
            before()
        t0 = time.perf_counter_ns()
        call()
        out.append(time.perf_counter_ns() - t0)
    return statistics.median(out) / 1000


def lookups(calls: int) -> dict[str, dict[str, float]]:
    table = PriceTable()
    library_usage = LibraryUsage(
        input_tokens=USAGE.input_tokens,
        output_tokens=USAGE.output_tokens,
        cache_read_tokens=USAGE.cached_tokens,
        cache_write_tokens=USAGE.cache_write_tokens,
    )
    rows: dict[str, dict[str, float]] = {}
    for provider, model in CASES:

        def fresh() -> None:
            table._snapshot = _snapshot()

        def uncached(provider: str | None = provider, model: str = model) -> object:
            return table._resolve(model, provider)

        def cached(provider: str | None = provider, model: str = model) -> object:
            return table.cost(model, USAGE, provider)

        def library(provider: str | None = provider, model: str = model) -> object:
            try:
                return calc_price(library_usage, model, provider_id=provider)
            except LookupError:
                return calc_price(library_usage, model)

        row = {
            "uncached_resolve_us": samples(uncached, max(calls // 100, 50), fresh),
            "cached_cost_us": samples(cached, calls),
        }
        if table.lookup(model, provider) is not None:
            row["library_calc_price_us"] = samples(library, calls // 10)
        rows[f"{provider}/{model}"] = row
    return rows


def import_ms(runs: int) -> dict[str, float]:
    app, database = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT], capture_output=True, text=True, check=True
        ).stdout.split()
        app.append(float(out[0]) * 1000)
        database.append(float(out[1]) * 1000)
    return {
        "palisade_app_ms": statistics.median(app),
        "price_database_ms": statistics.median(database),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--imports", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench-results/pricing.json"))
    args = parser.parse_args()
    rows = lookups(args.calls)
    imports = import_ms(args.imports)
    print(f"{'provider/model':<36}{'uncached µs':>13}{'cached µs':>11}{'calc_price µs':>15}")
    for name, row in rows.items():
        lib = row.get("library_calc_price_us")
        print(
            f"{name:<36}{row['uncached_resolve_us']:>13.1f}{row['cached_cost_us']:>11.2f}"
            f"{'' if lib is None else f'{lib:.1f}':>15}"
        )
    print(
        f"import palisade.app {imports['palisade_app_ms']:.0f} ms; the price database adds "
        f"{imports['price_database_ms']:.0f} ms (median of {args.imports})"
    )
    report = {
        "bench": "pricing",
        "python": platform.python_version(),
        "calls": args.calls,
        "rows": rows,
        **imports,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
