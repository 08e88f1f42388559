"""The console's API calls over a large interaction log: each must answer in at most 1 s.

Fills a SQLite file with synthetic records (1,000,000 by default, over 7 days: 5 proxies, 200
agents each with its proxy and model, 1,000 users, sessions of 20 records, 3 % errors, 5 %
guardrail actions; plus a few rare values, since a filter that matches almost nothing is the
one an index must answer), sums the dashboards' rollups once as the writers would have over
time (timed: the cost of a first start on a file an older version filled), then starts a
one-worker gateway on that file and times, through HTTP, every call the pages make: the logs
page with each single filter (a common and a rare value), its next page, the live tail, the
sessions list, one interaction, and the dashboards over each range, all proxies and one. Each
call runs `--repeat` times; the table shows the median and the slowest, and MISSED past 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx

from palisade.store.interaction_stats import catch_up
from palisade.store.interactions import _COLUMNS, _SCHEMA

TOKEN = "console-bench-admin-token"  # noqa: S105 - a throwaway gateway's
TARGET_MS = 1000.0
RARE = {
    "agent_id": "agent-rare",
    "user_id": "user-rare",
    "session_id": "session-rare",
    "model": "model-rare",
    "proxy": "proxy-rare",
}


def _records(n: int, days: float, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    now = time.time()
    span = days * 86400
    index = {c: i for i, c in enumerate(_COLUMNS)}
    actions = (",redact,", ",block,", ",flag,", ",mask,redact,")
    for i in range(n):
        agent = rng.randrange(200)
        latency = rng.lognormvariate(6, 0.8)
        failed = rng.random() < 0.03
        status = rng.choice((429, 500, 502)) if failed else 200
        row: list[Any] = [None] * len(_COLUMNS)
        values = {
            "id": f"req_bench{i:012d}",
            "ts": now - span + span * i / n,
            "proxy": f"proxy-{agent % 5}",
            "auth_method": "virtual_key",
            "key_id": f"key{agent:04d}",
            "agent_id": f"agent-{agent}",
            "user_id": f"user-{rng.randrange(1000)}",
            "session_id": f"session-{i // 20}",
            "execution_id": f"exec-{i // 5}",
            "provider": "openai",
            "model": f"model-{agent % 10}",
            "served_model": f"model-{agent % 10}",
            "endpoint": "chat/completions",
            "stream": i % 2,
            "status": status,
            "upstream_status": status,
            "error_code": "upstream_error" if failed else None,
            "latency_ms": latency,
            "ttft_ms": latency / 3 if i % 2 else None,
            "input_tokens": rng.randrange(10, 2000),
            "output_tokens": rng.randrange(1, 800),
            "cached_tokens": 0,
            "reasoning_tokens": 0,
            "tokens_counted": 0,
            "cost_usd": rng.random() / 100,
            "request_bytes": 800,
            "cache_write_tokens": 0,
            "guardrail_actions": rng.choice(actions) if rng.random() < 0.05 else None,
            "response_bytes": 600,
            "request_body": b'{"model": "model", "messages": [{"role": "user", "content": "hi"}]}',
            "response_body": b'{"choices": [{"message": {"content": "hello"}}]}',
        }
        if i % (n // 10) == n // 20:  # ten rare records, spread over the range
            values.update(RARE, served_model=RARE["model"], status=503)
        for column, value in values.items():
            row[index[column]] = value
        yield tuple(row)


def fill(path: Path, n: int, days: float) -> dict[str, float]:
    started = time.perf_counter()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.executescript(_SCHEMA)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO interactions ({', '.join(_COLUMNS)}) "  # noqa: S608 - fixed names
            f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
            _records(n, days),
        )
        conn.execute("COMMIT")
        filled = time.perf_counter() - started
        started = time.perf_counter()
        catch_up(conn)
        rolled = time.perf_counter() - started
    return {"fill_s": round(filled, 1), "first_rollup_s": round(rolled, 1)}


@contextmanager
def gateway(db: Path, workdir: Path, port: int) -> Iterator[str]:
    config = workdir / "palisade.yaml"
    config.write_text(
        f"server: {{host: 127.0.0.1, port: {port}, workers: 1}}\n"
        f"store: {{sqlite_path: '{db}'}}\n"
        f"admin: {{token: {TOKEN}}}\n"
        "auto_providers: false\n"
        "providers: {mock: {base_url: 'http://127.0.0.1:9/v1', api_key: k}}\n"
    )
    log = (workdir / "gateway.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "palisade.cli", "serve", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError((workdir / "gateway.log").read_text())
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def calls(client: httpx.Client) -> list[tuple[str, str]]:
    """(name, path) of every call the console's pages make, with real cursors and ids."""
    first = client.get("/admin/v1/interactions?limit=50").json()
    newest = max(item["seq"] for item in first["data"])
    out = [
        ("logs: no filter", "/admin/v1/interactions?limit=50"),
        ("logs: next page", f"/admin/v1/interactions?limit=50&cursor={first['next_cursor']}"),
        ("logs: live tail", f"/admin/v1/interactions?after_seq={newest - 5}"),
        ("detail", f"/admin/v1/interactions/{first['data'][0]['id']}"),
        ("sessions (last 24 h)", "/admin/v1/sessions?limit=50&since=24h"),
        ("sessions (all time)", "/admin/v1/sessions?limit=50"),
        ("session view", "/admin/v1/interactions?limit=500&session_id=session-1000"),
    ]
    common = {
        "proxy": "proxy-3",
        "agent_id": "agent-42",
        "user_id": "user-7",
        "session_id": "session-4242",
        "model": "model-4",
    }
    for key, value in common.items():
        out.append((f"logs: {key} (common)", f"/admin/v1/interactions?limit=50&{key}={value}"))
        out.append((f"logs: {key} (rare)", f"/admin/v1/interactions?limit=50&{key}={RARE[key]}"))
    for name, query in (
        ("status 503 (rare)", "status=503"),
        ("status error", "status=error"),
        ("guardrail block", "guardrail_action=block"),
        ("tokens >= 2700 (rare)", "min_tokens=2700"),
        ("cost >= $0.0099", "min_cost_usd=0.0099"),
        ("latency >= 20 s (rare)", "min_latency_ms=20000"),
        ("last hour", "since=1h"),
        ("a day a week ago", f"since={time.time() - 7 * 86400}&until={time.time() - 6 * 86400}"),
    ):
        out.append((f"logs: {name}", f"/admin/v1/interactions?limit=50&{query}"))
    for span in ("1h", "6h", "24h", "7d", "30d"):
        out.append((f"dashboards: {span}", f"/admin/v1/stats?since={span}"))
        one = f"/admin/v1/stats?since={span}&proxy=proxy-2"
        out.append((f"dashboards: {span}, one proxy", one))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=18471)
    parser.add_argument("--out", default="bench-results/console.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        workdir = Path(tmp)
        db = workdir / "interactions.db"
        setup = fill(db, args.records, args.days)
        print(f"{args.records:,} records over {args.days:g} days: {setup}")
        results: list[dict[str, Any]] = []
        with (
            gateway(db, workdir, args.port) as url,
            httpx.Client(
                base_url=url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=60
            ) as client,
        ):
            for name, path in calls(client):
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (path, answer.text[:300])
                data = answer.json()
                rows = len(data["data"]) if isinstance(data.get("data"), list) else None
                results.append(
                    {
                        "call": name,
                        "median_ms": round(statistics.median(times), 1),
                        "max_ms": round(max(times), 1),
                        "rows": rows,
                    }
                )
    width = max(len(r["call"]) for r in results)
    print(f"{'call':<{width}}  median ms    max ms  rows")
    missed = 0
    for r in results:
        mark = "" if r["max_ms"] <= TARGET_MS else "  MISSED"
        missed += bool(mark)
        count = "" if r["rows"] is None else r["rows"]
        print(f"{r['call']:<{width}}  {r['median_ms']:9.1f} {r['max_ms']:9.1f}  {count}{mark}")
    print(f"target: every call <= {TARGET_MS:.0f} ms; missed: {missed}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"setup": setup, "records": args.records, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
