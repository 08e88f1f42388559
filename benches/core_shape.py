"""The firewall's JSON shape check through the Python binding, single-threaded.

`json_shape(body, 64)` runs on every request body before it is parsed, so its cost is paid by
every request; `orjson.loads` of the same body (which follows it) is timed alongside as the
yardstick. Realistic chat bodies (1 KB, 16 KB and 256 KB of messages, tool calls and tool
schemas, one with the `\\uXXXX` escapes Python's encoder writes for non-ASCII text) and hostile
ones (4 MB of `[`, objects of 100k keys, arrays of objects just past the hash threshold).
Reports the median and best ns per body over several repeats of the process's CPU time, prints
a table and writes `bench-results/core_shape.json`.

The check must stay far below the parse it guards (`share`); when it changes, time the old
and the new version on the same machine, since a figure from another run says little on a
shared one. Benches report, tests assert: the exit code is always 0.

    .venv/bin/python benches/core_shape.py
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from palisade._core import json_shape

MAX_DEPTH = 64
RESULTS = Path("bench-results") / "core_shape.json"
_PROSE = (
    "the gateway answers every request with the model's reply after checking it for secrets "
    "and injections while the weather in paris stays mild and the report lists three tables "
    'of numbers ; { } [ ] " quoted text'
)
_WORDS = _PROSE.split()
_NON_ASCII = "café déjà vu naïve über straße 日本語 テキスト Ελληνικά ✓"
_ACCENTED = _NON_ASCII.split()


def prose(rng: random.Random, size: int, words: list[str] = _WORDS) -> str:
    out: list[str] = []
    n = 0
    while n < size:
        word = rng.choice(words)
        out.append(word)
        n += len(word) + 1
    return " ".join(out)


def tool(rng: random.Random, i: int) -> dict[str, Any]:
    properties: dict[str, Any] = {
        f"param_{j}": {
            "type": rng.choice(["string", "integer", "boolean"]),
            "description": prose(rng, 60),
        }
        for j in range(rng.randint(2, 6))
    }
    properties["mode"] = {"type": "string", "enum": ["fast", "slow", "auto"]}
    return {
        "type": "function",
        "function": {
            "name": f"tool_{i}",
            "description": prose(rng, 120),
            "parameters": {"type": "object", "properties": properties, "required": ["mode"]},
        },
    }


def chat(size: int, seed: int, tools: int, words: list[str] = _WORDS) -> dict[str, Any]:
    rng = random.Random(seed)
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "stream": True,
        "messages": [{"role": "system", "content": prose(rng, 200, words)}],
    }
    if tools:
        body["tools"] = [tool(rng, i) for i in range(tools)]
    messages = body["messages"]
    turn = 0
    while len(orjson.dumps(body)) < size:
        turn += 1
        messages.append({"role": "user", "content": prose(rng, rng.randint(40, 600), words)})
        if tools and turn % 3 == 0:
            call = {
                "id": f"call_{turn}",
                "type": "function",
                "function": {"name": "tool_0", "arguments": json.dumps({"param_0": "x" * 20})},
            }
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            messages.append(
                {"role": "tool", "tool_call_id": f"call_{turn}", "content": prose(rng, 300)}
            )
        else:
            messages.append({"role": "assistant", "content": prose(rng, rng.randint(40, 900))})
    return body


def bodies() -> dict[str, bytes]:
    hundred_k = range(100_000)
    return {
        "chat 1 KB": orjson.dumps(chat(1_000, 1, tools=0)),
        "chat 16 KB, tools": orjson.dumps(chat(16_000, 2, tools=4)),
        "chat 16 KB, \\u escapes": json.dumps(chat(16_000, 3, tools=4, words=_ACCENTED)).encode(),
        "chat 256 KB, tools": orjson.dumps(chat(256_000, 4, tools=12)),
        "4 MB of [": b"[" * (4 << 20),
        "100k keys": orjson.dumps({f"k{i}": i for i in hundred_k}),
        "100k keys, one length": orjson.dumps({f"k{i:06}": 0 for i in hundred_k}),
        "100k escaped keys": ("{" + ",".join(f'"\\u006b{i}":0' for i in hundred_k) + "}").encode(),
        "10k objects x 24 keys": orjson.dumps([{f"key{j}": j for j in range(24)}] * 10_000),
    }


def per_call_ns(fn: Callable[[], object], budget_s: float, repeats: int) -> list[float]:
    """CPU ns per call, one figure per repeat; each repeat loops for about `budget_s`."""
    start = time.process_time()
    fn()
    once = max(time.process_time() - start, 1e-7)
    loops = max(1, int(budget_s / once))
    runs = []
    for _ in range(repeats):
        start = time.process_time_ns()
        for _ in range(loops):
            fn()
        runs.append((time.process_time_ns() - start) / loops)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--budget", type=float, default=0.1, help="CPU seconds per repeat")
    args = ap.parse_args()

    rows = []
    for name, body in bodies().items():
        answer = json_shape(body, MAX_DEPTH)
        shape = per_call_ns(lambda b=body: json_shape(b, MAX_DEPTH), args.budget, args.repeats)  # type: ignore[misc]
        try:
            orjson.loads(body)
            parse: list[float] | None = per_call_ns(
                lambda b=body: orjson.loads(b),  # type: ignore[misc]
                args.budget,
                args.repeats,
            )
        except orjson.JSONDecodeError:
            parse = None  # not JSON: orjson's failure time is not a yardstick
        median = statistics.median(shape)
        parse_median = statistics.median(parse) if parse else None
        rows.append(
            {
                "body": name,
                "bytes": len(body),
                "answer": repr(answer) if len(repr(answer)) < 40 else repr(answer)[:37] + "...",
                "shape_ns_median": round(median),
                "shape_ns_best": round(min(shape)),
                "orjson_loads_ns_median": round(parse_median) if parse_median else None,
                "share_of_parse": round(median / parse_median, 3) if parse_median else None,
            }
        )

    print(f"json_shape(body, {MAX_DEPTH}) vs orjson.loads, CPU ns per body, {args.repeats} runs")
    print(f"{'body':<26}{'bytes':>10}{'median':>12}{'best':>12}{'orjson':>13}{'share':>8}  answer")
    for r in rows:
        parse_ns = r["orjson_loads_ns_median"]
        share = r["share_of_parse"]
        print(
            f"{r['body']!s:<26}{r['bytes']:>10,}{r['shape_ns_median']:>12,}{r['shape_ns_best']:>12,}"
            f"{'-' if parse_ns is None else f'{parse_ns:,}':>13}"
            f"{'-' if share is None else f'{share:.3f}':>8}  {r['answer']}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "bench": "core_shape",
                "max_depth": MAX_DEPTH,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
