"""Operations basics through a real Granian gateway: JSON log lines with each request's id
(the gateway's, Granian's and its workers'), `/ready` on the stores, `/metrics` on a port of its
own behind a token (both workers' values), ids on every answer, and the drain at SIGTERM."""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from tests.helpers.polling import wait_for
from tests.helpers.prometheus import total
from tests.helpers.redis_server import RedisServer
from tests.helpers.servers import RunningServer, free_port, start_process_server

MOCK_KEY = "ops-mock-key-" + "q" * 12
CLIENT_KEY = "ops-client-key-" + "w" * 12
METRICS_TOKEN = "ops-metrics-token-" + "e" * 12
PALISADE = [sys.executable, "-m", "palisade.cli"]
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ "
    r"(req_[0-9a-f]+|-) "
)


def config(tmp: Path, port: int, mock_port: int, body: str) -> Path:
    path = tmp / "palisade.yaml"
    path.write_text(
        f"""
store: {{sqlite_path: {tmp / "palisade.db"}}}
auto_providers: false
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*"]
{body}"""
    )
    return path


@dataclass
class Ops:
    server: RunningServer
    metrics_url: str
    redis: RedisServer

    @property
    def url(self) -> str:
        return self.server.url

    def log_lines(self) -> list[str]:
        return self.server.log.read_text().splitlines()


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    """Two workers (so Redis), JSON lines with Granian's access lines, metrics on their port."""
    tmp = tmp_path_factory.mktemp("ops")
    port, mock_port, metrics = free_port(), free_port(), free_port()
    redis = RedisServer()
    redis.start()
    path = config(
        tmp,
        port,
        mock_port,
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: 2}}
logging: {{format: json, access: true}}
metrics: {{port: {metrics}, token: {METRICS_TOKEN}}}
""",
    )
    path.write_text(path.read_text().replace("store: {", f'store: {{redis_url: "{redis.url}", '))
    mock_argv = [*PALISADE, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    try:
        with (
            start_process_server(mock_argv, mock_port),
            start_process_server(
                [*PALISADE, "serve", "--config", str(path)], port, workers=2
            ) as server,
        ):
            yield Ops(server, f"http://127.0.0.1:{metrics}", redis)
    finally:
        redis.kill()


def chat(stream: bool = False, **mock: Any) -> dict[str, Any]:
    return {
        "model": "mock-gpt",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
        "mock": mock,
    }


def test_json_log_lines_of_a_request_carry_its_id(ops: Ops) -> None:
    headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    # A stream the provider breaks off: the gateway logs a warning while serving it.
    with httpx.stream(
        "POST", f"{ops.url}/v1/chat/completions", json=chat(True, fail="drop"), headers=headers
    ) as answer:
        request_id = answer.headers["x-palisade-request-id"]
        answer.read()

    def lines_of_request() -> list[dict[str, Any]]:
        mine = [orjson.loads(x) for x in ops.log_lines() if request_id in x]
        return mine if any(x["logger"] == "granian.access" for x in mine) else []

    mine = wait_for(lines_of_request)
    assert {x["request_id"] for x in mine} == {request_id}
    warning = next(x for x in mine if x["logger"] == "palisade.upstream")
    assert warning["level"] == "warning"
    assert "broke off" in warning["msg"] or "ended mid-event" in warning["msg"]
    access = next(x for x in mine if x["logger"] == "granian.access")
    assert access["level"] == "info"
    assert '"POST /v1/chat/completions HTTP/1.1" 200' in access["msg"]

    lines = ops.log_lines()
    # Every line of every process is one JSON object: Granian's main process, both workers.
    parsed = [orjson.loads(line) for line in lines]
    for line in parsed:
        assert {"ts", "level", "logger", "msg", "request_id"} <= set(line)
    assert any(x["logger"] == "_granian" and "Starting granian" in x["msg"] for x in parsed)
    assert sum(x["logger"].startswith("_granian") and "Started worker" in x["msg"]
               for x in parsed) == 2  # fmt: skip
    log = "\n".join(lines)
    for secret in (MOCK_KEY, CLIENT_KEY, METRICS_TOKEN):
        assert secret not in log


def test_ready_checks_sqlite_redis_and_the_pool_on_every_worker(ops: Ops) -> None:
    def ready() -> httpx.Response:
        # A connection each, so both workers answer some.
        return httpx.get(f"{ops.url}/ready", headers={"connection": "close"})

    for _ in range(6):
        answer = ready()
        assert answer.status_code == 200
        assert answer.json() == {
            "status": "ready",
            "checks": {"upstream_pool": "ok", "sqlite": "ok", "redis": "ok"},
        }
    ops.redis.kill()
    try:
        for _ in range(6):
            answer = ready()
            assert answer.status_code == 503
            assert answer.json()["status"] == "not_ready"
            checks = answer.json()["checks"]
            assert (checks["sqlite"], checks["upstream_pool"]) == ("ok", "ok")
            assert checks["redis"] != "ok"
    finally:
        ops.redis.start()
    wait_for(lambda: all(ready().status_code == 200 for _ in range(4)))
    # Liveness does not depend on the stores.
    assert httpx.get(f"{ops.url}/health").status_code == 200


def test_metrics_on_their_own_port_add_up_both_workers_behind_the_token(ops: Ops) -> None:
    public = httpx.get(f"{ops.url}/metrics")
    assert public.status_code == 404
    denied = httpx.get(f"{ops.metrics_url}/metrics")
    assert denied.status_code == 401
    assert METRICS_TOKEN not in denied.text
    wrong = httpx.get(f"{ops.metrics_url}/metrics", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401

    def scrape() -> dict[Any, float]:
        from prometheus_client.parser import text_string_to_metric_families

        answer = httpx.get(
            f"{ops.metrics_url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}
        )
        assert answer.status_code == 200
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text)
            for s in family.samples
        }

    # This test's own agent: the other tests' calls (counted up to a second late) cannot move
    # its label.
    agent = f"metrics-port-{time.monotonic_ns()}"
    calls = 12

    def call(_: int) -> str:
        answer = httpx.post(
            f"{ops.url}/v1/chat/completions",
            json=chat(latency_ms=50),
            headers={"connection": "close", "x-archestra-agent-id": agent},
        )
        assert answer.status_code == 200
        return answer.headers["x-palisade-request-id"]

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(call, range(calls)))
    # Ids are random per worker process: two prefixes mean both workers served.
    assert len({i[:-8] for i in ids}) == 2
    wait_for(lambda: total(scrape(), "llm_requests_total", external_agent_id=agent) == calls)


ROUTES = [
    ("GET", "/health", None, {}),
    ("GET", "/ready", None, {}),
    ("GET", "/metrics", None, {}),
    ("GET", "/v1/models", None, {}),
    ("GET", "/admin/v1/proxies", None, {}),
    ("GET", "/admin/v1/interactions", None, {}),
    ("POST", "/oauth/token", b"", {}),
    ("GET", "/no/such/route", None, {}),
    ("GET", "/v1/chat/completions", None, {}),
    ("DELETE", "/health", None, {}),
    ("POST", "/v1/chat/completions", b"{not json", {"content-type": "application/json"}),
    ("POST", "/v1/chat/completions", b"x", {"content-type": "text/plain"}),
    ("POST", "/v1/messages", b"{}", {"content-type": "application/json"}),
    ("GET", "/v1/responses", None, {"connection": "Upgrade", "upgrade": "websocket",
                                    "sec-websocket-version": "13",
                                    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}),
]  # fmt: skip


def test_every_answer_has_a_request_id(ops: Ops) -> None:
    seen = set()
    for method, path, body, headers in ROUTES:
        answer = httpx.request(method, f"{ops.url}{path}", content=body, headers=headers)
        ours = answer.headers.get("x-palisade-request-id", "")
        assert ours.startswith("req_"), (method, path, answer.status_code)
        assert answer.headers["x-request-id"] == ours, (method, path)
        seen.add(ours)
    assert len(seen) == len(ROUTES)
    # A forwarded stream: the provider's id stays, ours is added, its organization is dropped.
    with httpx.stream("POST", f"{ops.url}/v1/chat/completions", json=chat(True)) as answer:
        assert answer.status_code == 200
        assert answer.headers["x-palisade-request-id"].startswith("req_")
        assert answer.headers["x-request-id"] != answer.headers["x-palisade-request-id"]
        assert "openai-organization" not in answer.headers
        answer.read()


def test_sigterm_turns_ready_503_while_requests_in_flight_finish(tmp_path: Path) -> None:
    port, mock_port = free_port(), free_port()
    path = config(
        tmp_path,
        port,
        mock_port,
        f"server: {{host: 127.0.0.1, port: {port}, drain_delay_s: 2, shutdown_grace_s: 5}}\n",
    )
    mock_argv = [*PALISADE, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        start_process_server(mock_argv, mock_port),
        start_process_server([*PALISADE, "serve", "--config", str(path)], port) as server,
    ):
        url = server.url
        assert httpx.get(f"{url}/ready").status_code == 200
        results: dict[str, Any] = {}

        def long_call() -> None:
            results["long"] = httpx.post(
                f"{url}/v1/chat/completions", json=chat(latency_ms=3000), timeout=30
            )

        call = threading.Thread(target=long_call)
        call.start()
        time.sleep(0.3)  # in flight
        # The main process only, as a container runtime or Kubernetes sends it.
        server.process.send_signal(signal.SIGTERM)
        ready = wait_for(
            lambda: a if (a := httpx.get(f"{url}/ready")).status_code == 503 else None, timeout=1.5
        )
        assert ready.json() == {"status": "draining", "checks": {}}
        # Still serving new requests during the delay, and liveness holds.
        assert httpx.get(f"{url}/health").status_code == 200
        short = httpx.post(f"{url}/v1/chat/completions", json=chat())
        assert short.status_code == 200
        call.join(30)
        assert results["long"].status_code == 200
        assert server.process.wait(30) == 0
        lines = server.log.read_text().splitlines()
        # The default text format, every line: time, level, logger, request id or -.
        assert lines
        for line in lines:
            assert TEXT_LINE.match(line), line
        assert any(" INFO palisade - draining: /ready answers 503 for 2 s" in x for x in lines)
