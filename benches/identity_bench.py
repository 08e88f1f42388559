"""In-process cost of stage 2 with a virtual key on a cache hit (the common case: the key was
seen before by this worker), against the same stage on an open proxy.

Usage: python benches/identity_bench.py [--calls N] [--out bench-results/identity.json]

It builds the real stage inputs: a Starlette Request from an ASGI scope with the OpenAI SDK's
headers, a RequestContext, and a Gateway whose identity state holds one key in memory, then
times `identify(...)` call by call with perf_counter_ns (single thread, the event loop
running). The SQLite store is real; the first call loads the key, the timed calls hit memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from starlette.requests import Request

from palisade.config import Config, ProxyConfig, StoreConfig
from palisade.gateway import Gateway
from palisade.identity import runtime
from palisade.pipeline.context import RequestContext
from palisade.pipeline.identity import identify
from palisade.providers.openai import CHAT
from palisade.store import keys
from palisade.upstream.routing import Router

SDK_HEADERS = [
    (b"host", b"127.0.0.1:8080"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"connection", b"keep-alive"),
    (b"accept", b"application/json"),
    (b"content-type", b"application/json"),
    (b"user-agent", b"OpenAI/Python 3.51.0"),
    (b"x-stainless-lang", b"python"),
    (b"x-stainless-package-version", b"3.51.0"),
    (b"x-stainless-os", b"Linux"),
    (b"x-stainless-arch", b"x64"),
    (b"x-stainless-runtime", b"CPython"),
    (b"x-stainless-runtime-version", b"3.11.2"),
    (b"x-stainless-async", b"false"),
    (b"x-stainless-retry-count", b"0"),
    (b"content-length", b"74"),
]


def scope(proxy: str, token: str) -> dict[str, object]:
    return {
        "type": "http",
        "method": "POST",
        "path": f"/{proxy}/chat/completions",
        "headers": [*SDK_HEADERS, (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "path_params": {"proxy": proxy},
    }


async def timed(gw: Gateway, proxy: str, token: str, calls: int) -> list[int]:
    guards = gw.proxies[proxy]
    s = scope(proxy, token)
    out = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        # What each request pays: its Request and context, then the stage.
        request = Request(s)
        ctx = RequestContext(surface=CHAT, guards=guards, proxy_id=proxy)
        await identify(ctx, request.headers, "127.0.0.1", gw.identity)
        out.append(time.perf_counter_ns() - t0)
    return out


async def run(calls: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(
            proxies=(
                ProxyConfig(id="default", name="default"),
                ProxyConfig(id="keys", name="keys", auth=("virtual_key",)),
            ),
            store=StoreConfig(sqlite_path=f"{tmp}/bench.db"),
        )
        async with aiohttp.ClientSession() as session:
            ident, guards = await runtime.start(config, session)
            gw = Gateway(
                config=config, router=Router(()), session=session, proxies=guards, identity=ident
            )
            key, token = await ident.db.run(
                lambda c: keys.create(c, proxy_id="keys", name="bench", limits={"rpm": 60})
            )
            await timed(gw, "keys", token, 1)  # the miss: loads the key into memory
            assert ident.directory.keys[key.id] is not None
            rows = {}
            for name, proxy, tok in (
                ("open", "default", "anything"),
                ("virtual_key", "keys", token),
            ):
                await timed(gw, proxy, tok, calls // 10)  # warm-up
                samples = await timed(gw, proxy, tok, calls)
                rows[name] = {
                    "p50_us": statistics.median(samples) / 1000,
                    "p99_us": sorted(samples)[int(len(samples) * 0.99)] / 1000,
                    "mean_us": statistics.fmean(samples) / 1000,
                }
            await ident.db.close()
    added = rows["virtual_key"]["p50_us"] - rows["open"]["p50_us"]
    return {
        "bench": "identity",
        "python": platform.python_version(),
        "calls": calls,
        "rows": rows,
        "virtual_key_added_p50_us": added,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=Path("bench-results/identity.json"))
    args = parser.parse_args()
    import uvloop

    report = uvloop.run(run(args.calls))
    rows = report["rows"]
    assert isinstance(rows, dict)
    print(f"{'stage 2':<14}{'p50 µs':>10}{'p99 µs':>10}{'mean µs':>10}")
    for name, row in rows.items():
        print(f"{name:<14}{row['p50_us']:>10.2f}{row['p99_us']:>10.2f}{row['mean_us']:>10.2f}")
    print(f"virtual key on a cache hit adds {report['virtual_key_added_p50_us']:.2f} µs p50")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
