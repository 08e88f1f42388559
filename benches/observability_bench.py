"""What observability costs, in one run: a gateway that records nothing next to one that records
everything.

Two one-worker gateways in front of the same mock: `off` has the interaction log and metrics
switched off (and no tracing), `on` has all three: every request written to SQLite with its
bodies, Prometheus metrics (multiprocess mode, as `palisade serve` always runs), and an
OpenTelemetry span per request exported over OTLP/HTTP to a sink in this script. Requests carry
agent, session and execution ids, so records, labels and span attributes are all filled.

Before measuring, the run checks that `on` records, counts and traces, and that `off` does not.
After it, it checks that SQLite kept up: every request `on` served has its record written, none
dropped (the writer's queue is bounded; a full queue would drop and count).

Pinning, interleaving and CPU accounting are those of `http_bench.py`: the gateway under test
alone on CPU 1; wrk, the mock, the other gateway and this script on CPU 0; off and on alternate
order; each figure is the median of the repeats, and the throughput loss the median of each
repeat's own loss (its off and on runs back to back: the shared host's speed drifts between
repeats more than within one). `--quick` is a smoke run; the exit code is 0 even when a target
is missed (the table says MISSED).
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from http_bench import (
    CHAT_PATH,
    LOAD_CPU,
    SERVER_CPU,
    Server,
    Side,
    bench_arguments,
    chat_body,
    check_chat,
    describe,
    enter_load_cpu,
    free_port,
    gateway_yaml,
    measure,
    mock_server,
    palisade_cli,
    parse_bench_args,
    request,
    run_meta,
    show_logs,
    start_server,
    write_json,
    wrk_script,
)

Mode = Literal["off", "on"]

TARGET_THROUGHPUT_LOSS = 0.10
ATTRIBUTION = {
    "X-Archestra-Agent-Id": "bench-agent",
    "X-Archestra-User-Id": "bench-user",
    "X-Archestra-Session-Id": "bench-session",
    "X-Archestra-Execution-Id": "bench-run",
}


class SpanSink(ThreadingHTTPServer):
    """An OTLP/HTTP endpoint that keeps what it receives, to count the spans at the end."""

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _SinkHandler)
        self.bodies: list[bytes] = []

    def spans(self) -> int:
        count = 0
        for body in self.bodies:
            for resource in json.loads(body)["resourceSpans"]:
                count += sum(len(scope["spans"]) for scope in resource["scopeSpans"])
        return count


class _SinkHandler(BaseHTTPRequestHandler):
    server: SpanSink

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def span_sink() -> Iterator[SpanSink]:
    sink = SpanSink(free_port())
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.shutdown()
        sink.server_close()


def config_yaml(mode: Mode, port: int, mock_port: int, workdir: Path, sink_port: int) -> str:
    head = gateway_yaml(port, {"mock": (mock_port, ["gpt-*"])})
    if mode == "off":
        return head + "logging: {enabled: false}\nmetrics: {enabled: false}\n"
    return head + (
        f"store: {{sqlite_path: '{workdir / 'on.db'}'}}\n"
        "logging: {enabled: true, bodies: true}\n"
        "metrics: {enabled: true}\n"
        f"tracing: {{otlp_endpoint: 'http://127.0.0.1:{sink_port}/v1/traces'}}\n"
    )


def attributed_script(path: Path, body: bytes) -> Path:
    script = wrk_script(path, body)
    with script.open("a") as out:
        for name, value in ATTRIBUTION.items():
            out.write(f'wrk.headers["{name}"] = "{value}"\n')
    return script


def metric(port: int, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    _, raw = request(port, "GET", "/metrics")
    return sum(
        s.value
        for family in text_string_to_metric_families(raw.decode())
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def check_modes(ports: dict[Mode, int], workdir: Path) -> list[str]:
    """What shows that `on` does not record or `off` does."""
    problems = []
    before = metric(ports["on"], "palisade_interactions_written_total")
    status, _ = request(ports["on"], "POST", CHAT_PATH, chat_body(stream=False))
    deadline = time.monotonic() + 10
    while metric(ports["on"], "palisade_interactions_written_total") <= before:
        if time.monotonic() > deadline:
            problems.append(f"on: no record written (status {status})")
            break
        time.sleep(0.05)
    status, _ = request(ports["off"], "GET", "/metrics")
    if status != 404:
        problems.append(f"off: /metrics answered {status}, not 404 (metrics not off)")
    if list(workdir.glob("*.db")) != [workdir / "on.db"]:
        problems.append(f"databases in the work dir: {sorted(workdir.glob('*.db'))}")
    return problems


@dataclass
class Comparison:
    stream: bool
    concurrency: int
    name: str = ""
    off: Side = field(default_factory=Side)
    on: Side = field(default_factory=Side)
    throughput_loss: float = 0.0
    # Each repeat's loss, its on and off runs measured back to back.
    pair_losses: list[float] = field(default_factory=list)
    added_p50_ms: float = 0.0
    cpu_added_us: float = 0.0
    cpu_loss: float = 0.0
    off_busy: float = 0.0

    def __post_init__(self) -> None:
        self.name = f"{'stream' if self.stream else 'non-stream'} c={self.concurrency}"

    def summarize(self) -> None:
        self.off.summarize()
        self.on.summarize()
        # The median of the repeats' own losses: the machine's speed drifts between repeats
        # (shared host), and a repeat's two runs, a few seconds apart, drift least.
        self.pair_losses = [
            1 - on.rps / off.rps for on, off in zip(self.on.runs, self.off.runs, strict=True)
        ]
        self.throughput_loss = statistics.median(self.pair_losses)
        self.added_p50_ms = self.on.p50_ms - self.off.p50_ms
        self.cpu_added_us = self.on.cpu_us_per_req - self.off.cpu_us_per_req
        self.cpu_loss = 1 - self.off.cpu_us_per_req / self.on.cpu_us_per_req
        self.off_busy = self.off.rps * self.off.cpu_us_per_req / 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_arguments(__doc__, "observability_bench.json")
    # More, shorter pairs than the other benches: the loss is a median of pairs.
    parser.set_defaults(repeats=9, duration=4.0)
    args = parse_bench_args(parser, argv)
    enter_load_cpu()
    palisade = palisade_cli()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="palisade-bench-")))
        sink = stack.enter_context(span_sink())
        mock_port = free_port()
        ports: dict[Mode, int] = {"off": free_port(), "on": free_port()}
        mock = stack.enter_context(mock_server(palisade, mock_port, workdir))
        gateways: dict[Mode, Server] = {}
        for mode, port in ports.items():
            config = workdir / f"{mode}.yaml"
            config.write_text(config_yaml(mode, port, mock_port, workdir, sink.server_address[1]))
            argv_ = [palisade, "serve", "--config", str(config), "--workers", "1"]
            gateways[mode] = stack.enter_context(
                start_server(f"gateway-{mode}", argv_, port, "/health", workdir)
            )
        try:
            for port in ports.values():
                check_chat(port, chat_body(stream=False))
                check_chat(port, chat_body(stream=True))
            problems = check_modes(ports, workdir)
            return bench(args, mock, gateways, sink, problems, workdir)
        except Exception:
            show_logs([mock, *gateways.values()])
            raise
    return 1  # unreachable; mypy cannot see that ExitStack does not swallow


def pin(under_test: Server, others: Sequence[Server]) -> None:
    for server in others:
        server.pin(LOAD_CPU)
    under_test.pin(SERVER_CPU)


def bench(
    args: Any,
    mock: Server,
    gateways: dict[Mode, Server],
    sink: SpanSink,
    problems: list[str],
    workdir: Path,
) -> int:
    scripts = {
        s: attributed_script(
            workdir / f"chat_{'stream' if s else 'plain'}.lua", chat_body(stream=s)
        )
        for s in (False, True)
    }
    urls = {m: f"http://127.0.0.1:{g.port}{CHAT_PATH}" for m, g in gateways.items()}
    pinning: dict[str, str] = {
        m: f"gateway-{m} pids {g.tree()} -> cpu {SERVER_CPU} while measured; wrk, mock, the "
        f"other gateway and this script -> cpu {LOAD_CPU}"
        for m, g in gateways.items()
    }
    print(f"pinning: {pinning['on']}")
    print(f"wrk -t1, {args.duration:g}s x {args.repeats} per side, median reported; loadavg "
          f"before: {os.getloadavg()}")  # fmt: skip
    for problem in problems:
        print(f"!!! {problem}")

    comparisons = [Comparison(False, 1), Comparison(False, 32), Comparison(True, 32)]
    print("\nwarm-up ...", flush=True)
    for mode, gateway in gateways.items():
        pin(gateway, [mock, *(g for m, g in gateways.items() if m != mode)])
        for script in scripts.values():
            measure(gateway, urls[mode], script, connections=32, duration_s=args.warmup)

    started = time.monotonic()
    for rep in range(args.repeats):
        for cmp in comparisons:
            order: list[Mode] = ["off", "on"] if rep % 2 == 0 else ["on", "off"]
            for mode in order:
                gateway = gateways[mode]
                pin(gateway, [mock, *(g for m, g in gateways.items() if m != mode)])
                run = measure(
                    gateway,
                    urls[mode],
                    scripts[cmp.stream],
                    connections=cmp.concurrency,
                    duration_s=args.duration,
                )
                getattr(cmp, mode).runs.append(run)
                print(
                    f"  [{rep + 1}/{args.repeats}] {cmp.name:<16} {mode:<3} {describe(run)}",
                    flush=True,
                )
    elapsed = time.monotonic() - started
    for cmp in comparisons:
        cmp.summarize()

    records = account_records(gateways["on"].port, workdir / "on.db", sink)
    targets = check_targets(comparisons, records, problems)
    print_report(comparisons, records, targets, problems)
    meta = run_meta(args, pinning, elapsed)
    meta.update(
        attribution=ATTRIBUTION, modes={m: config_yaml(m, 0, 0, workdir, 0) for m in gateways}
    )
    write_json(
        args.json,
        {
            "meta": meta,
            "problems": problems,
            "records": records,
            "scenarios": [asdict(cmp) for cmp in comparisons],
            "targets": targets,
        },
    )
    return 0


def account_records(port: int, db: Path, sink: SpanSink) -> dict[str, Any]:
    """Requests `on` served against the records it wrote, once its writer caught up."""
    deadline = time.monotonic() + 30
    last = None
    while True:
        # The last requests of a run may still be finishing: wait until two reads a second
        # apart agree, and every request served is written or dropped.
        served = metric(port, "llm_requests_total")
        written = metric(port, "palisade_interactions_written_total")
        dropped = metric(port, "palisade_interactions_dropped_total")
        now = (served, written, dropped)
        if (now == last and written + dropped >= served) or time.monotonic() > deadline:
            break
        last = now
        time.sleep(1.0)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
    time.sleep(6)  # the span exporter's batch delay (5 s), so its last batch is in
    return {
        "requests_served": int(served),
        "records_written": int(written),
        "records_dropped": int(dropped),
        "rows_in_database": rows,
        "spans_received": sink.spans(),
        "database_bytes": sum(p.stat().st_size for p in db.parent.glob("on.db*")),
    }


def check_targets(
    comparisons: list[Comparison], records: dict[str, Any], problems: list[str]
) -> list[dict[str, Any]]:
    c32 = next(c for c in comparisons if c.name == "non-stream c=32")
    errors = c32.on.errors + c32.off.errors
    complete = (
        records["records_dropped"] == 0
        and records["records_written"] == records["requests_served"] == records["rows_in_database"]
    )
    return [
        {
            "name": "throughput loss, non-stream c=32",
            "target": f"<= {TARGET_THROUGHPUT_LOSS:.0%}",
            "value": round(c32.throughput_loss, 4),
            "errors": errors,
            "met": None
            if problems
            else c32.throughput_loss <= TARGET_THROUGHPUT_LOSS and not errors,
        },
        {
            "name": "records written / requests served, no drops",
            "target": "all",
            "value": f"{records['records_written']} / {records['requests_served']}, "
            f"{records['records_dropped']} dropped",
            "errors": 0,
            "met": None if problems else complete,
        },
    ]


def print_report(
    comparisons: list[Comparison],
    records: dict[str, Any],
    targets: list[dict[str, Any]],
    problems: list[str],
) -> None:
    head = (
        f"{'scenario':<16} | {'off rps':>8} {'p50 ms':>7} {'p99 ms':>7} | "
        f"{'on rps':>8} {'p50 ms':>7} {'p99 ms':>7} | {'added p50':>9} {'loss':>6} | "
        f"{'cpu us/req off/on':>17} {'cpu loss':>8} | {'off busy':>8}"
    )
    print("\n" + head)
    print("-" * len(head))
    for cmp in comparisons:
        off, on = cmp.off, cmp.on
        errors = f"  ERRORS: off {off.errors}, on {on.errors}" if off.errors or on.errors else ""
        print(
            f"{cmp.name:<16} | {off.rps:8.0f} {off.p50_ms:7.3f} {off.p99_ms:7.3f} | "
            f"{on.rps:8.0f} {on.p50_ms:7.3f} {on.p99_ms:7.3f} | "
            f"{cmp.added_p50_ms:+7.3f}ms {cmp.throughput_loss:6.1%} | "
            f"{off.cpu_us_per_req:8.0f} /{on.cpu_us_per_req:7.0f} {cmp.cpu_loss:8.1%} | "
            f"{cmp.off_busy:8.0%}{errors}"
        )
    print(
        "loss = median over repeats of 1 - on/off req/s (each repeat's on and off runs back to\n"
        "back; the req/s and p50 columns are medians of their own); cpu loss = 1 - off/on CPU per\n"
        "request (all threads of the gateway: the SQLite writer and the span exporter included);\n"
        "busy = share of its core the off gateway used."
    )
    for cmp in comparisons:
        losses = ", ".join(f"{loss:.1%}" for loss in cmp.pair_losses)
        print(f"  {cmp.name:<16} loss by repeat: {losses}")
    print(
        f"\nrecords: {records['requests_served']} requests served by `on`, "
        f"{records['records_written']} records written ({records['rows_in_database']} rows in "
        f"the database, {records['database_bytes'] / 1e6:.1f} MB with WAL), "
        f"{records['records_dropped']} dropped; {records['spans_received']} spans received"
    )
    print("\ntargets (issue 7; one Granian worker each):")
    for t in targets:
        value = f"{t['value']:.1%}" if isinstance(t["value"], float) else t["value"]
        verdict = "met" if t["met"] else "MISSED"
        if t["met"] is None:
            verdict = "NO RESULT: a mode did not do what it should"
        elif t["errors"]:
            verdict += f" ({t['errors']} failed requests)"
        print(f"  {t['name']:<46} target {t['target']:<6} measured {value:<28} {verdict}")
    if problems:
        print("\n!!! the modes are not what they claim:")
        for problem in problems:
            print(f"!!!   {problem}")


if __name__ == "__main__":
    raise SystemExit(main())
