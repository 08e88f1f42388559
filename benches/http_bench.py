"""Gateway vs direct upstream, in one run: the mock provider alone, then behind the gateway.

Both servers start once and are re-pinned before every measurement so that the server under
test always has CPU 1 to itself while wrk and the other server share CPU 0. Direct and gateway
runs are interleaved (and their order alternates) so that noise from the rest of the machine hits
both sides alike; each figure is the median of the repeats.

Each run also records the CPU time the server under test spent per request, which the rest of
the machine's load barely moves; mock CPU / gateway CPU per request is the throughput ratio to
expect when each has a core of its own.

A second section streams one answer at a time with aiohttp and compares each SSE event's
arrival time through the gateway with the same event's arrival time straight from the mock, and,
on one clock, with the moment a TCP tap in front of the mock saw the mock send it: a gateway
that held chunks back would show delays of the order of the chunk interval.

Its targets (issue 2's) are for an empty pipeline: they are judged in a `--lean` run only, which
`make bench` does; a default run records every request, and what that costs is judged by
`observability_bench.py`. `--quick` is a smoke run. Benches report, tests assert: the exit code
is 0 even when a target is missed (the table says MISSED).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

Target = Literal["direct", "gateway"]

SERVER_CPU = 1
"""The server under test runs here alone."""
LOAD_CPU = 0
"""wrk, this script and the server that is not under test share this one."""

MOCK_LATENCY_MS = 1
MOCK_STREAM_CHUNKS = 8
HOLD_CHUNKS = 20
HOLD_INTERVAL_MS = 20
MODEL = "gpt-4o-mini"
TAP_MODEL = "tap-gpt-4o-mini"
"""Routed by the gateway to the mock through the timing tap (see `Tap`)."""

# Any key: the mock wants one (like the real API), the gateway sets its own for the provider.
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer bench-client-key"}

CHAT_PATH = "/v1/chat/completions"

TARGET_ADDED_P50_MS = 1.0
TARGET_THROUGHPUT_RATIO = 0.5

_MESSAGES = [
    {"role": "system", "content": "You are a concise assistant for a logistics company."},
    {
        "role": "user",
        "content": "Our pallet shipment to Rotterdam is two days late. Draft a short, polite "
        "note to the customer explaining the delay and the new delivery date.",
    },
]

_LUA = """
wrk.method = "POST"
{headers}
wrk.body = [==[{body}]==]

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {{"requests": %d, "duration_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %.1f, "p90_us": %.1f, "p99_us": %.1f, "mean_us": %.1f, "max_us": %.1f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0),
    latency.mean, latency.max))
end
"""


def chat_body(
    *,
    stream: bool,
    mock: dict[str, Any] | None = None,
    model: str = MODEL,
    messages: list[dict[str, Any]] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "model": model,
        "messages": messages or _MESSAGES,
        "temperature": 0.3,
        "max_tokens": 200,
    }
    if stream:
        body["stream"] = True
    if mock:
        body["mock"] = mock
    return json.dumps(body, separators=(",", ":")).encode()


def wrk_script(path: Path, body: bytes, headers: Mapping[str, str] = HEADERS) -> Path:
    """A wrk script that POSTs `body` and prints its summary as one JSON line."""
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    path.write_text(_LUA.format(headers=lines, body=body.decode()))
    return path


# --- processes ---------------------------------------------------------------------------


def pin_pid(pid: int, cpu: int) -> None:
    # -a: every thread of the process, not only its main thread.
    subprocess.run(
        ["taskset", "-a", "-p", "-c", str(cpu), str(pid)],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def tree(self) -> list[int]:
        """The process and all its descendants (Granian runs its workers as child processes)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may contain spaces and parentheses: the ppid follows the last ')'.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return sorted(found)

    def pin(self, cpu: int) -> None:
        for pid in self.tree():
            pin_pid(pid, cpu)

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.tree():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@contextmanager
def start_server(
    name: str, argv: Sequence[str], port: int, ready_path: str, workdir: Path
) -> Iterator[Server]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["taskset", "-c", str(LOAD_CPU), *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, Ctrl-C or not
        )
    server = Server(name, proc, port, log)
    try:
        wait_ready(server, ready_path)
        yield server
    finally:
        server.stop()


def mock_server(palisade: str, port: int, workdir: Path) -> AbstractContextManager[Server]:
    """The mock both HTTP benches run: one worker, a fixed latency, streams without pauses."""
    argv = [palisade, "mock-upstream", "--port", str(port), "--workers", "1",
            "--latency-ms", str(MOCK_LATENCY_MS), "--ttft-ms", "0",
            "--chunks", str(MOCK_STREAM_CHUNKS), "--chunk-interval-ms", "0"]  # fmt: skip
    return start_server("mock", argv, port, "/v1/models", workdir)


def gateway_server(
    palisade: str, config: Path, port: int, workdir: Path
) -> AbstractContextManager[Server]:
    argv = [palisade, "serve", "--config", str(config), "--workers", "1"]
    return start_server("gateway", argv, port, "/health", workdir)


def gateway_yaml(port: int, providers: Mapping[str, tuple[int, Sequence[str]]]) -> str:
    """The head of a one-worker gateway config; `providers`: name -> (local port, models)."""
    lines = [
        f"server: {{host: 127.0.0.1, port: {port}, workers: 1}}",
        # A store of its own: never the repo's palisade.db that `make run` uses.
        f"store: {{sqlite_path: '{tempfile.gettempdir()}/palisade-bench-{port}.db'}}",
        "auto_providers: false",
        "providers:",
        *(
            f"  {name}: {{base_url: 'http://127.0.0.1:{upstream}/v1', api_key: mock-key,"
            f" models: {json.dumps(list(models))}}}"
            for name, (upstream, models) in providers.items()
        ),
    ]
    return "\n".join(lines) + "\n"


def show_logs(servers: Sequence[Server]) -> None:
    """The end of each server's log, for a run that failed."""
    for server in servers:
        alive = "running" if server.proc.poll() is None else f"exit {server.proc.returncode}"
        tail = server.log.read_text(errors="replace")[-3000:]
        print(f"--- {server.name} ({alive}), end of its log:\n{tail}", file=sys.stderr)


def wait_ready(server: Server, path: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited early; its log:\n{server.log.read_text()}")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
        try:
            conn.request("GET", path, headers=HEADERS)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} not ready after {timeout_s}s; log:\n{server.log.read_text()}"
    )


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body, HEADERS)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def check_chat(port: int, body: bytes, path: str = CHAT_PATH) -> None:
    """One request by hand before any load: a broken route must fail loudly, not as fast 4xx."""
    status, text = request(port, "POST", path, body)
    if status != 200:
        raise RuntimeError(f"port {port}, POST {path}: status {status}: {text[:500]!r}")


# --- wrk -----------------------------------------------------------------------------------


@dataclass
class Run:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    requests: int
    errors: int
    cpu_us_per_req: float = 0.0
    """CPU time (user + system, all threads) of the server under test per request: unlike
    rps, it barely moves when other work on the machine steals time."""


def run_wrk(url: str, script: Path, *, connections: int, duration_s: float) -> Run:
    argv = [
        "taskset",
        "-c",
        str(LOAD_CPU),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=duration_s + 60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    line = next((ln for ln in out.decode().splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out.decode()}{err.decode()}")
    r = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = sum(
        r[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return Run(
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1e3,
        p90_ms=r["p90_us"] / 1e3,
        p99_ms=r["p99_us"] / 1e3,
        mean_ms=r["mean_us"] / 1e3,
        max_ms=r["max_us"] / 1e3,
        requests=r["requests"],
        errors=errors,
    )


def measure(server: Server, url: str, script: Path, *, connections: int, duration_s: float) -> Run:
    """One wrk run, with the CPU time `server` spent per request."""
    cpu_before = server.cpu_seconds()
    run = run_wrk(url, script, connections=connections, duration_s=duration_s)
    cpu = server.cpu_seconds() - cpu_before
    run.cpu_us_per_req = cpu * 1e6 / max(run.requests, 1)
    return run


def describe(run: Run) -> str:
    return (
        f"{run.rps:9.0f} req/s  p50 {run.p50_ms:7.3f} ms  p99 {run.p99_ms:7.3f} ms  "
        f"cpu {run.cpu_us_per_req:4.0f} us/req" + (f"  ERRORS {run.errors}" if run.errors else "")
    )


@dataclass
class Side:
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_us_per_req: float = 0.0
    errors: int = 0
    runs: list[Run] = field(default_factory=list)

    def summarize(self) -> None:
        self.rps = statistics.median(r.rps for r in self.runs)
        self.cpu_us_per_req = statistics.median(r.cpu_us_per_req for r in self.runs)
        self.p50_ms = statistics.median(r.p50_ms for r in self.runs)
        self.p99_ms = statistics.median(r.p99_ms for r in self.runs)
        self.errors = sum(r.errors for r in self.runs)


@dataclass
class Scenario:
    name: str
    stream: bool
    concurrency: int
    direct: Side = field(default_factory=Side)
    gateway: Side = field(default_factory=Side)
    added_p50_ms: float = 0.0
    throughput_ratio: float = 0.0
    cpu_ratio: float = 0.0
    """Mock CPU per request / gateway CPU per request: the throughput ratio to expect when
    each server has a core of its own and nothing else runs."""


# --- stream hold-back -----------------------------------------------------------------------


async def event_arrivals(
    session: aiohttp.ClientSession, url: str, body: bytes
) -> tuple[float, list[float]]:
    """When the request was sent and when each complete SSE event arrived (perf_counter, s)."""
    arrivals: list[float] = []
    buffer = b""
    start = time.perf_counter()
    async with session.post(url, data=body, headers=HEADERS) as resp:
        if resp.status != 200:
            raise RuntimeError(f"{url}: status {resp.status}: {(await resp.read())[:500]!r}")
        async for chunk in resp.content.iter_any():
            now = time.perf_counter()
            buffer += chunk.replace(b"\r\n", b"\n")
            complete = buffer.count(b"\n\n")
            if complete:
                arrivals.extend([now] * complete)
                buffer = buffer.rsplit(b"\n\n", 1)[1]
    return start, arrivals


class Tap:
    """A TCP relay between the gateway and the mock that notes when each SSE event left the mock.

    Comparing a direct stream with a separate gateway stream mixes in the mock's own timer
    jitter (each stream sleeps on its own). Through the tap, the same bytes are timed on both
    sides of the gateway, with one clock, so the difference is what the gateway held them.
    """

    def __init__(self, port: int, upstream_port: int) -> None:
        self.port = port
        self.upstream_port = upstream_port
        self.events: list[tuple[float, bytes]] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task[None]] = set()

    async def serve(self) -> asyncio.Server:
        return await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def close(self) -> None:
        """Ends the relays of the gateway's pooled keep-alive connections (they never end on
        their own), so that no relay is left to be cancelled when the loop stops."""
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._relays, return_exceptions=True)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        self._writers.update((client_w, up_w))

        async def requests() -> None:
            try:
                while data := await client_r.read(65536):
                    up_w.write(data)
                    await up_w.drain()
            finally:
                up_w.close()

        async def responses() -> None:
            # Raw HTTP/1.1 bytes: chunked framing uses CRLF and never forms a blank LF line,
            # so splitting on LF LF finds exactly the SSE event ends.
            buffer = b""
            try:
                while data := await up_r.read(65536):
                    now = time.perf_counter()
                    client_w.write(data)
                    *done, buffer = (buffer + data).split(b"\n\n")
                    self.events.extend((now, event) for event in done)
                    await client_w.drain()
            finally:
                client_w.close()

        await asyncio.gather(requests(), responses(), return_exceptions=True)


def stripped_by_gateway(event: bytes) -> bool:
    """The usage-only chunk the gateway asked for on its own and hides from the client."""
    return b'"choices":[]' in event and b'"usage":{' in event


@dataclass
class HoldRound:
    events_direct: int
    events_gateway: int
    extra_ms: list[float]
    """Per event index: arrival through the gateway - arrival straight from the mock (two
    separate streams, each event relative to its own request start)."""
    max_extra_ms: float
    median_extra_ms: float
    held_ms: list[float]
    """Per event: arrival at the client - the moment the tap saw the mock send it (one stream)."""
    max_held_ms: float
    median_held_ms: float


async def measure_hold(
    direct_port: int, gateway_port: int, tap: Tap, rounds: int
) -> list[HoldRound]:
    mock_knobs = {"chunks": HOLD_CHUNKS, "chunk_interval_ms": HOLD_INTERVAL_MS}
    body = chat_body(stream=True, mock=mock_knobs)
    tapped_body = chat_body(stream=True, mock=mock_knobs, model=TAP_MODEL)
    urls = {
        "direct": f"http://127.0.0.1:{direct_port}/v1/chat/completions",
        "gateway": f"http://127.0.0.1:{gateway_port}/v1/chat/completions",
    }

    async def relative(target: Target) -> list[float]:
        start, times = await event_arrivals(session, urls[target], body)
        return [(t - start) * 1e3 for t in times]

    out: list[HoldRound] = []
    server = await tap.serve()
    async with server, aiohttp.ClientSession() as session:
        for url in urls.values():  # warm both connection pools
            await event_arrivals(session, url, body)
        await event_arrivals(session, urls["gateway"], tapped_body)
        for i in range(rounds):
            order: list[Target] = ["direct", "gateway"] if i % 2 == 0 else ["gateway", "direct"]
            got = {t: await relative(t) for t in order}
            n = min(len(got["direct"]), len(got["gateway"]))
            extra = [got["gateway"][k] - got["direct"][k] for k in range(n)]

            tap.events.clear()
            _, client_times = await event_arrivals(session, urls["gateway"], tapped_body)
            sent = [t for t, event in tap.events if not stripped_by_gateway(event)]
            if len(sent) != len(client_times):
                raise RuntimeError(
                    f"tap saw {len(sent)} events for the client, the client got {len(client_times)}"
                )
            held = [(c - m) * 1e3 for c, m in zip(client_times, sent, strict=True)]
            out.append(
                HoldRound(
                    events_direct=len(got["direct"]),
                    events_gateway=len(got["gateway"]),
                    extra_ms=[round(x, 3) for x in extra],
                    max_extra_ms=max(extra),
                    median_extra_ms=statistics.median(extra),
                    held_ms=[round(x, 3) for x in held],
                    max_held_ms=max(held),
                    median_held_ms=statistics.median(held),
                )
            )
        await tap.close()
    return out


# --- the run --------------------------------------------------------------------------------


def bench_arguments(doc: str | None, json_name: str) -> argparse.ArgumentParser:
    """The options every wrk bench takes; `parse_bench_args` applies `--quick`."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0] if doc else None)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per scenario and side")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per side")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--json", type=Path, default=Path("bench-results") / json_name)
    return parser


def parse_bench_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.repeats, args.warmup = 2.0, 1, 1.0
    return args


def enter_load_cpu() -> None:
    """Moves this script to the load CPU and makes SIGTERM stop the servers like Ctrl-C."""
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs; pinning cannot isolate the server under test")
    # SIGTERM takes the same way out as Ctrl-C, through every `finally` that stops a server;
    # SIGINT is set too because a shell starts background jobs with it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.sched_setaffinity(0, {LOAD_CPU})


def palisade_cli() -> str:
    return str(Path(sys.executable).with_name("palisade"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_arguments(__doc__, "http_bench.json")
    parser.add_argument("--hold-rounds", type=int, default=5, help="streams per side (hold-back)")
    parser.add_argument(
        "--lean",
        action="store_true",
        help="interaction log and metrics off (the default config records every request); "
        "the targets are judged only then",
    )
    args = parse_bench_args(parser, argv)
    if args.quick:
        args.hold_rounds = 2
    enter_load_cpu()
    palisade = palisade_cli()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="palisade-bench-")))
        mock_port, gw_port, tap_port = free_port(), free_port(), free_port()
        config = workdir / "gateway.yaml"
        config.write_text(
            gateway_yaml(
                gw_port, {"mock": (mock_port, ["mock-*", "gpt-*"]), "tap": (tap_port, ["tap-*"])}
            )
            + ("logging: {enabled: false}\nmetrics: {enabled: false}\n" if args.lean else "")
        )
        mock = stack.enter_context(mock_server(palisade, mock_port, workdir))
        gateway = stack.enter_context(gateway_server(palisade, config, gw_port, workdir))
        for port in (mock_port, gw_port):
            check_chat(port, chat_body(stream=False))
            check_chat(port, chat_body(stream=True))
        try:
            return bench(args, mock, gateway, Tap(tap_port, mock_port), workdir)
        except Exception:
            show_logs([mock, gateway])
            raise
    return 1  # unreachable; mypy cannot see that ExitStack does not swallow


def pin_for(target: Target, mock: Server, gateway: Server) -> None:
    under_test, other = (mock, gateway) if target == "direct" else (gateway, mock)
    other.pin(LOAD_CPU)
    under_test.pin(SERVER_CPU)


def bench(args: argparse.Namespace, mock: Server, gateway: Server, tap: Tap, workdir: Path) -> int:
    scripts = {
        stream: wrk_script(
            workdir / f"chat_{'stream' if stream else 'plain'}.lua", chat_body(stream=stream)
        )
        for stream in (False, True)
    }
    urls: dict[Target, str] = {
        "direct": f"http://127.0.0.1:{mock.port}{CHAT_PATH}",
        "gateway": f"http://127.0.0.1:{gateway.port}{CHAT_PATH}",
    }
    pinning = {
        "direct": f"mock pids {mock.tree()} -> cpu {SERVER_CPU}; "
        f"wrk + gateway pids {gateway.tree()} -> cpu {LOAD_CPU}",
        "gateway": f"gateway pids {gateway.tree()} -> cpu {SERVER_CPU}; "
        f"wrk + mock pids {mock.tree()} -> cpu {LOAD_CPU}",
    }
    print(f"pinning, direct phase:  {pinning['direct']}")
    print(f"pinning, gateway phase: {pinning['gateway']}")
    print(f"this script -> cpu {LOAD_CPU}; loadavg before: {os.getloadavg()}")
    print(
        f"mock: latency {MOCK_LATENCY_MS} ms, {MOCK_STREAM_CHUNKS} chunks/stream, interval 0; "
        f"wrk -t1, {args.duration:g}s x {args.repeats} per side, median reported\n"
    )

    scenarios = [
        Scenario(f"{'stream' if s else 'non-stream'} c={c}", s, c)
        for s in (False, True)
        for c in (1, 32)
    ]
    print("warm-up ...", flush=True)
    for target in ("direct", "gateway"):
        pin_for(target, mock, gateway)
        for stream in (False, True):
            run_wrk(urls[target], scripts[stream], connections=32, duration_s=args.warmup)

    started = time.monotonic()
    for rep in range(args.repeats):
        for sc in scenarios:
            order: list[Target] = ["direct", "gateway"] if rep % 2 == 0 else ["gateway", "direct"]
            for target in order:
                pin_for(target, mock, gateway)
                run = measure(
                    mock if target == "direct" else gateway,
                    urls[target],
                    scripts[sc.stream],
                    connections=sc.concurrency,
                    duration_s=args.duration,
                )
                getattr(sc, target).runs.append(run)
                print(
                    f"  [{rep + 1}/{args.repeats}] {sc.name:<16} {target:<7} {describe(run)}",
                    flush=True,
                )
    elapsed = time.monotonic() - started
    for sc in scenarios:
        sc.direct.summarize()
        sc.gateway.summarize()
        sc.added_p50_ms = sc.gateway.p50_ms - sc.direct.p50_ms
        sc.throughput_ratio = sc.gateway.rps / sc.direct.rps
        sc.cpu_ratio = sc.direct.cpu_us_per_req / sc.gateway.cpu_us_per_req

    print("\nstream hold-back ...", flush=True)
    pin_for("gateway", mock, gateway)
    hold = asyncio.run(measure_hold(mock.port, gateway.port, tap, args.hold_rounds))

    targets = check_targets(scenarios) if args.lean else []
    print_report(scenarios, targets, hold)
    result = {
        "meta": run_meta(args, pinning, elapsed),
        "scenarios": [asdict(sc) for sc in scenarios],
        "targets": targets,
        "stream_hold": {
            "mock": {"chunks": HOLD_CHUNKS, "chunk_interval_ms": HOLD_INTERVAL_MS},
            "max_extra_ms": max(r.max_extra_ms for r in hold),
            "median_extra_ms": statistics.median(r.median_extra_ms for r in hold),
            "max_held_ms": max(r.max_held_ms for r in hold),
            "median_held_ms": statistics.median(r.median_held_ms for r in hold),
            "rounds": [asdict(r) for r in hold],
        },
    }
    write_json(args.json, result)
    return 0


def run_meta(args: argparse.Namespace, pinning: dict[str, str], elapsed: float) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "pinning": pinning,
        "duration_s": args.duration,
        "repeats": args.repeats,
        "measure_seconds": round(elapsed, 1),
        "loadavg_after": os.getloadavg(),
        "mock": {
            "latency_ms": MOCK_LATENCY_MS,
            "chunks": MOCK_STREAM_CHUNKS,
            "chunk_interval_ms": 0,
        },
        "gateway_workers": 1,
        "wrk": "-t1, latency:percentile() from a Lua done() hook",
    }


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nJSON written to {path}")


def check_targets(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    by_name = {sc.name: sc for sc in scenarios}
    c1, c32 = by_name["non-stream c=1"], by_name["non-stream c=32"]
    return [
        {
            "name": "added p50 latency, non-stream c=1",
            "target": f"<= {TARGET_ADDED_P50_MS:g} ms",
            "value": round(c1.added_p50_ms, 3),
            "met": c1.added_p50_ms <= TARGET_ADDED_P50_MS,
        },
        {
            "name": "throughput vs direct, non-stream c=32",
            "target": f">= {TARGET_THROUGHPUT_RATIO:.0%}",
            "value": round(c32.throughput_ratio, 3),
            "met": c32.throughput_ratio >= TARGET_THROUGHPUT_RATIO,
        },
    ]


def print_report(
    scenarios: list[Scenario], targets: list[dict[str, Any]], hold: list[HoldRound]
) -> None:
    head = (
        f"{'scenario':<16} | {'direct rps':>10} {'p50 ms':>7} {'p99 ms':>7} | "
        f"{'gateway rps':>11} {'p50 ms':>7} {'p99 ms':>7} | {'added p50':>9} {'gw/direct':>9} | "
        f"{'cpu us/req mock/gw':>18} {'ratio':>6}"
    )
    print("\n" + head)
    print("-" * len(head))
    for sc in scenarios:
        d, g = sc.direct, sc.gateway
        errors = f"  errors: direct {d.errors}, gateway {g.errors}" if d.errors or g.errors else ""
        print(
            f"{sc.name:<16} | {d.rps:10.0f} {d.p50_ms:7.3f} {d.p99_ms:7.3f} | "
            f"{g.rps:11.0f} {g.p50_ms:7.3f} {g.p99_ms:7.3f} | "
            f"{sc.added_p50_ms:+7.3f}ms {sc.throughput_ratio:9.1%} | "
            f"{d.cpu_us_per_req:8.0f} /{g.cpu_us_per_req:8.0f} {sc.cpu_ratio:6.1%}{errors}"
        )
    print(
        "cpu us/req: CPU time of the server under test per request (median); ratio = mock/gw,\n"
        "the throughput ratio to expect with a dedicated core each and an otherwise idle machine."
    )
    if not targets:
        # What recording costs is observability_bench.py's to judge, against its own target.
        print(
            "\ntargets: not judged. They are for an empty pipeline (`--lean`); this run records"
            " every request, as the default config does."
        )
    else:
        print("\ntargets (one Granian worker, empty pipeline):")
    for t in targets:
        value = f"{t['value']:.3f} ms" if "latency" in t["name"] else f"{t['value']:.1%}"
        verdict = "met" if t["met"] else "MISSED"
        print(f"  {t['name']:<40} target {t['target']:<8} measured {value:<10} {verdict}")
    print(
        f"\nstream hold-back (mock: {HOLD_CHUNKS} chunks, {HOLD_INTERVAL_MS} ms apart; "
        f"a held chunk would show ~{HOLD_INTERVAL_MS} ms or more):\n"
        "  extra = arrival through the gateway - arrival direct, same event index, two streams\n"
        "  held  = arrival at the client - mock send time seen by a tap in front of the mock,"
        " same stream"
    )
    for i, r in enumerate(hold, 1):
        print(
            f"  round {i}: events direct {r.events_direct}, gateway {r.events_gateway}; "
            f"extra median {r.median_extra_ms:+.3f} max {r.max_extra_ms:+.3f} ms; "
            f"held median {r.median_held_ms:.3f} max {r.max_held_ms:.3f} ms"
        )
    print(
        f"  overall: extra max {max(r.max_extra_ms for r in hold):+.3f} ms, "
        f"held max {max(r.max_held_ms for r in hold):.3f} ms, "
        f"held median {statistics.median(r.median_held_ms for r in hold):.3f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
