"""The gateway's process life: a bounded drain at SIGTERM, and a worker that dies is replaced.

Each test runs its own gateway, since each ends or wounds it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson

from palisade.store.interactions import get_interaction
from tests.helpers.prometheus import scrape, total, worker_pids
from tests.helpers.redis_server import redis_server
from tests.helpers.servers import RunningServer, free_port, start_process_server

MOCK_KEY = "lifecycle-mock-key"
PALISADE = [sys.executable, "-m", "palisade.cli"]
GRACE_S = 1.5


@contextmanager
def stack(tmp: Path, extra: str = "", workers: int = 1) -> Iterator[RunningServer]:
    mock_port, port = free_port(), free_port()
    config = tmp / "palisade.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: {workers}, shutdown_grace_s: {GRACE_S}}}
store: {{sqlite_path: {tmp / "palisade.db"}{extra}}}
auto_providers: false
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*"]
"""
    )
    mock_argv = [*PALISADE, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        start_process_server(mock_argv, mock_port),
        start_process_server(
            [*PALISADE, "serve", "--config", str(config)], port, workers=workers
        ) as server,
    ):
        yield server


def chat(mock: dict[str, Any], *, stream: bool = False) -> dict[str, Any]:
    return {
        "model": "mock-gpt",
        "messages": [{"role": "user", "content": "Tell me a long story."}],
        "stream": stream,
        "mock": mock,
    }


def wait_until(probe: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_sigterm_gives_requests_a_grace_then_ends_them_with_errors_and_records_all(
    tmp_path: Path,
) -> None:
    with stack(tmp_path) as server:
        url = f"{server.url}/v1/chat/completions"
        results: dict[str, Any] = {}
        stream_started = threading.Event()

        def long_stream() -> None:
            # 100 chunks 200 ms apart: 20 s, far longer than the grace.
            with httpx.stream(
                "POST", url, json=chat({"chunks": 100, "chunk_interval_ms": 200}, stream=True),
                timeout=60,
            ) as answer:  # fmt: skip
                results["stream_id"] = answer.headers["x-palisade-request-id"]
                lines = []
                for line in answer.iter_lines():
                    if line:
                        lines.append(line)
                        stream_started.set()
                results["stream"] = lines

        def long_call() -> None:
            answer = httpx.post(url, json=chat({"latency_ms": 20_000}), timeout=60)
            results["long"] = answer

        def short_call() -> None:
            answer = httpx.post(url, json=chat({"latency_ms": 500}), timeout=60)
            results["short"] = answer

        threads = [threading.Thread(target=f) for f in (long_stream, long_call)]
        for t in threads:
            t.start()
        assert stream_started.wait(20)
        short = threading.Thread(target=short_call)
        short.start()
        time.sleep(0.2)  # the calls are in flight
        # The main process only, as a container runtime or systemd (KillMode=mixed) sends it.
        server.process.send_signal(signal.SIGTERM)
        for t in (*threads, short):
            t.join(60)
        server.process.wait(60)
        log = server.log.read_text()

        # In flight and done within the grace: answered as usual.
        assert results["short"].status_code == 200
        # Still running when the grace was over: a 503 that says why, and an error event.
        long = results["long"]
        assert long.status_code == 503, long.text
        assert long.json()["error"]["code"] == "gateway_shutting_down"
        last = results["stream"][-1]
        assert last.startswith("data: ")
        assert orjson.loads(last[6:])["error"]["code"] == "gateway_shutting_down"
        assert not any(line == "data: [DONE]" for line in results["stream"])
        assert server.process.returncode == 0, log
        # Ended by the grace, not by the calls' own 20 s.
        assert "shutdown grace of 1.5 s over: ended 2 upstream call(s)" in log

        db = str(tmp_path / "palisade.db")
        stream_record = get_interaction(db, results["stream_id"])
        assert stream_record is not None
        assert stream_record["error_code"] == "gateway_shutting_down"
        long_record = get_interaction(db, long.headers["x-palisade-request-id"])
        assert long_record is not None
        assert (long_record["status"], long_record["error_code"]) == (
            503,
            "gateway_shutting_down",
        )
        short_record = get_interaction(db, results["short"].headers["x-palisade-request-id"])
        assert short_record is not None
        assert short_record["status"] == 200


def test_a_killed_worker_is_replaced_and_the_others_keep_serving(tmp_path: Path) -> None:
    with (
        redis_server() as redis,
        stack(tmp_path, extra=f', redis_url: "{redis.url}"', workers=2) as server,
    ):
        stop = threading.Event()
        counts = {"ok": 0, "failed": 0}
        lock = threading.Lock()

        def load() -> None:
            with httpx.Client(base_url=server.url, timeout=20) as client:
                while not stop.is_set():
                    try:
                        answer = client.post("/v1/chat/completions", json=chat({}))
                        good = answer.status_code == 200
                    except httpx.TransportError:
                        good = False
                    with lock:
                        counts["ok" if good else "failed"] += 1

        def replaced() -> bool:
            now = worker_pids(server.process.pid)
            return len(now) == 2 and before[0] not in now

        before = sorted(worker_pids(server.process.pid))
        assert len(before) == 2
        with ThreadPoolExecutor(4) as pool:
            for _ in range(4):
                pool.submit(load)
            try:
                wait_until(lambda: counts["ok"] >= 50)
                os.kill(before[0], signal.SIGKILL)
                wait_until(replaced)
                with lock:
                    # The requests the dead worker held: one per client, and at most one more
                    # if a client reconnected in the instant before the dead socket closed.
                    assert counts["failed"] <= 8, counts
                    counts.update(ok=0, failed=0)
                wait_until(lambda: counts["ok"] >= 200)
            finally:
                stop.set()
        # Once replaced, nothing fails: the gateway kept serving throughout.
        assert counts["failed"] == 0, counts
        assert server.process.poll() is None
        after = worker_pids(server.process.pid)
        assert before[1] in after
        assert len(after) == 2

        # The new worker serves too: every worker's socket is listening again.
        def restarts() -> float:
            return total(scrape(server.url), "palisade_worker_restarts_total", reason="signal_9")

        wait_until(lambda: restarts() == 1)
        log = server.log.read_text()
        assert f"worker-1 (pid {before[0]}) died (signal_9)" in log or (
            f"worker-2 (pid {before[0]}) died (signal_9)" in log
        ), log
