"""Ordinary requests while 500 clients hold connections with bodies that never arrive.

One gateway (one worker, the default recording on) in front of the mock. wrk measures ordinary
non-stream requests at concurrency 8, alternately with no slow clients and while 500 connections
each declare a 50 KB body and send one byte of it. The slow connections get their 408 once
`firewall.body_timeout_s` (here 20 s, longer than a run) is over, so each run with them starts a
new set. What the runs show: the cost of holding 500 stalled reads (a set entry and one sweep
every 0.25 s) on everybody else's latency; `tests/e2e/test_hardening.py` asserts they are shed.

Usage: python benches/slow_bodies_bench.py [--duration S] [--repeats N] [--quick]
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from http_bench import (
    MODEL,
    SERVER_CPU,
    Run,
    bench_arguments,
    chat_body,
    enter_load_cpu,
    free_port,
    gateway_yaml,
    measure,
    mock_server,
    palisade_cli,
    parse_bench_args,
    show_logs,
    start_server,
    write_json,
    wrk_script,
)

SLOW_CLIENTS = 500
CONCURRENCY = 8
BODY_TIMEOUT_S = 20


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[list[socket.socket]]:
    socks = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
                b"Content-Type: application/json\r\nContent-Length: 50000\r\n\r\n{"
            )
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_arguments(__doc__, "slow_bodies_bench.json")
    parser.set_defaults(repeats=5, duration=5.0)
    args = parse_bench_args(parser, argv)
    enter_load_cpu()
    palisade = palisade_cli()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="palisade-bench-")))
        mock_port, port = free_port(), free_port()
        mock = stack.enter_context(mock_server(palisade, mock_port, workdir))
        config = workdir / "gateway.yaml"
        config.write_text(
            gateway_yaml(port, {"mock": (mock_port, [MODEL])})
            + f"firewall: {{body_timeout_s: {BODY_TIMEOUT_S}}}\n"
        )
        gateway = stack.enter_context(
            start_server(
                "gateway", [palisade, "serve", "--config", str(config)], port, "/health", workdir
            )
        )
        gateway.pin(SERVER_CPU)
        script = wrk_script(workdir / "chat.lua", chat_body(stream=False))
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        runs: dict[str, list[Run]] = {"quiet": [], "500 slow": []}
        try:
            measure(gateway, url, script, connections=CONCURRENCY, duration_s=args.warmup)
            for i in range(args.repeats):
                for side in ("quiet", "500 slow") if i % 2 == 0 else ("500 slow", "quiet"):
                    count = SLOW_CLIENTS if side == "500 slow" else 0
                    with slow_clients(port, count):
                        run = measure(
                            gateway, url, script, connections=CONCURRENCY, duration_s=args.duration
                        )
                    runs[side].append(run)
                    print(
                        f"  [{i + 1}/{args.repeats}] {side:<9} {run.rps:8.0f} req/s"
                        f"  p50 {run.p50_ms:6.3f} ms  p99 {run.p99_ms:6.3f} ms"
                        f"  errors {run.errors}"
                    )
        except Exception:
            show_logs([mock, gateway])
            raise
    print(f"\nordinary requests, concurrency {CONCURRENCY}, median of {args.repeats}:")
    summary = {}
    for side, side_runs in runs.items():
        summary[side] = {
            key: statistics.median(getattr(r, key) for r in side_runs)
            for key in ("rps", "p50_ms", "p99_ms", "cpu_us_per_req")
        }
        s = summary[side]
        print(
            f"  {side:<9} {s['rps']:8.0f} req/s  p50 {s['p50_ms']:6.3f} ms  "
            f"p99 {s['p99_ms']:6.3f} ms  cpu {s['cpu_us_per_req']:5.0f} us/req"
        )
    write_json(args.json, {"slow_clients": SLOW_CLIENTS, "summary": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
