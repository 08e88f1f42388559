"""Two Granian workers on one Redis agree on an open breaker: the worker that saw a deployment
fail opens its breaker, the other one learns it within the sync interval, and then no request,
whichever worker takes it, reaches the failing deployment. Each worker's own gauge file and
attempt counters tell the workers apart."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict

from tests.helpers.polling import until
from tests.helpers.prometheus import scrape, total, worker_counter, worker_pids
from tests.helpers.redis_server import RedisServer
from tests.helpers.servers import RunningServer, free_port, start_process_server

SYNC_INTERVAL_S = 0.2
FAILING, HEALTHY = "failing:gpt-4o", "healthy:gpt-4o"
BODY = {"model": "routed", "messages": [{"role": "user", "content": "hi"}]}


class _Failing(BaseHTTPRequestHandler):
    """A provider that answers every call with a 500, and counts them."""

    protocol_version = "HTTP/1.1"
    server: _FailingServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with self.server.lock:
            self.server.calls += 1
        body = json.dumps({"error": {"message": "down", "type": "server_error"}}).encode()
        self.send_response(500)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _FailingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Failing)
        self.lock = threading.Lock()
        self.calls = 0


@dataclass
class Fleet:
    gateway: RunningServer
    failing: _FailingServer
    redis: RedisServer
    # A new connection per call (none kept alive): any worker may take it.
    fresh: httpx.Client

    @property
    def workers(self) -> list[int]:
        return worker_pids(self.gateway.process.pid)

    def chat(self, client: httpx.Client | None = None) -> httpx.Response:
        url = f"{self.gateway.url}/v1/chat/completions"
        if client is not None:
            return client.post(url, json=BODY)
        return self.fresh.post(url, json=BODY)


def worker_gauge(pid: int, sample: str, **labels: str) -> float | None:
    """One worker's own value of a gauge sample (None: it never set it)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    files = {line.split()[-1] for line in maps.splitlines() if f"gauge_mostrecent_{pid}" in line}
    if not files:
        return None
    for key, value, _, _ in MmapedDict.read_all_values_from_file(files.pop()):  # type: ignore[no-untyped-call]
        _, name, key_labels, _ = json.loads(key)
        if name == sample and all(key_labels.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


@contextmanager
def running(tmp_path: Path, mock_port: int, cooldown_s: float) -> Iterator[Fleet]:
    failing = _FailingServer()
    threading.Thread(target=failing.serve_forever, daemon=True).start()
    redis = RedisServer()
    redis.start()
    port = free_port()
    config = tmp_path / "palisade.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: 2}}
auto_providers: false
store: {{redis_url: "{redis.url}", redis_timeout_s: 1, sqlite_path: {tmp_path / "p.db"}}}
providers:
  failing: {{base_url: "http://127.0.0.1:{failing.server_address[1]}/v1", api_key: k}}
  healthy: {{base_url: "http://127.0.0.1:{mock_port}/v1", api_key: k}}
models:
  routed:
    deployments:
      # The failing one is the higher tier: every call tries it first while it is usable.
      # No probes: only real calls may judge (and count) here.
      - {{provider: failing, model: gpt-4o, priority: 1, probe: false}}
      - {{provider: healthy, model: gpt-4o, probe: false}}
routing:
  breaker:
    consecutive_failures: 2
    cooldown_s: {cooldown_s}
    sync_interval_s: {SYNC_INTERVAL_S}
"""
    )
    argv = [sys.executable, "-m", "palisade.cli", "serve", "--config", str(config)]
    try:
        with (
            start_process_server(argv, port, workers=2) as gateway,
            httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as fresh,
        ):
            yield Fleet(gateway, failing, redis, fresh)
    finally:
        failing.shutdown()
        failing.server_close()
        redis.kill()


@pytest.fixture
def fleet(tmp_path: Path, mock_port: int) -> Iterator[Fleet]:
    with running(tmp_path, mock_port, cooldown_s=120) as fleet:
        yield fleet


def open_on_one_worker(fleet: Fleet) -> tuple[int, int]:
    """Two failures on one connection, so on one worker: its breaker opens; each call is still
    answered, by the healthy deployment on the retry. Returns (that worker, the other)."""
    workers = fleet.workers
    assert len(workers) == 2
    for pid in workers:
        assert worker_gauge(pid, "llm_breaker_state", deployment=FAILING) == 0
    with httpx.Client(timeout=30) as one:
        for _ in range(2):
            answer = fleet.chat(one)
            assert answer.status_code == 200
            assert answer.headers["x-palisade-served-by"] == "healthy"
    assert fleet.failing.calls == 2
    opened = [p for p in workers if worker_gauge(p, "llm_breaker_state", deployment=FAILING) == 2]
    assert len(opened) == 1
    [other] = set(workers) - set(opened)
    return opened[0], other


def test_two_workers_agree_on_an_open_breaker(fleet: Fleet) -> None:
    workers = fleet.workers
    _, other = open_on_one_worker(fleet)
    # The other worker never called the failing deployment, and learns of the opening.
    took = until(
        lambda: worker_gauge(other, "llm_breaker_state", deployment=FAILING) == 2,
        10.0,
        "the other worker sees the breaker open",
        every=0.02,
    )
    assert took < 10 * SYNC_INTERVAL_S
    served_before = {
        p: worker_counter(p, "llm_attempts_total", provider="healthy") for p in workers
    }
    # Many calls, each on its own connection: both workers take some, none calls the failing
    # deployment, and none needs a retry.
    for _ in range(40):
        answer = fleet.chat()
        assert answer.status_code == 200
        assert answer.headers["x-palisade-attempts"] == "1"
    assert fleet.failing.calls == 2
    # Each worker's own counters (flushed once a second) show it served some of them.
    until(
        lambda: all(
            worker_counter(p, "llm_attempts_total", provider="healthy") > served_before[p]
            for p in workers
        ),
        10.0,
        "each worker serves from the healthy deployment",
        every=0.02,
    )
    samples = scrape(fleet.gateway.url)
    assert total(samples, "llm_breaker_state", deployment=FAILING) == 2
    assert total(samples, "llm_breaker_state", deployment=HEALTHY) == 0
    assert total(samples, "llm_attempts_total", provider="failing", outcome="server_error") == 2
    # The shared state itself: one field per decided deployment, the opening with its end.
    value = fleet.redis.command("HGET", "{palisade:breakers}", FAILING)
    assert b"2," in value


def test_after_the_cooldown_one_call_of_all_workers_is_the_trial(
    tmp_path: Path, mock_port: int
) -> None:
    cooldown_s = 1.5
    with running(tmp_path, mock_port, cooldown_s) as fleet:
        opener, other = open_on_one_worker(fleet)
        opened_at = time.monotonic()
        until(
            lambda: worker_gauge(other, "llm_breaker_state", deployment=FAILING) == 2,
            10.0,
            "the other worker sees the breaker open",
            every=0.02,
        )
        served_before = {
            p: worker_counter(p, "llm_attempts_total", provider="healthy") for p in fleet.workers
        }
        time.sleep(max(0.0, opened_at + cooldown_s + 0.05 - time.monotonic()))
        # The cooldown is over on both workers. Calls on both: one of them is the trial (it
        # fails, and opens the breaker again for a whole cooldown), no other reaches the
        # failing deployment.
        started = time.monotonic()
        for _ in range(20):
            assert fleet.chat().status_code == 200
        assert time.monotonic() - started < cooldown_s - 0.2, "too slow to prove anything"
        assert fleet.failing.calls == 3
        until(
            lambda: all(
                worker_counter(p, "llm_attempts_total", provider="healthy") > served_before[p]
                for p in (opener, other)
            ),
            10.0,
            "both workers serve from the healthy deployment",
            every=0.02,
        )
