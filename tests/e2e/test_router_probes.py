"""Issue 18 through real Granian: five failures open a deployment's breaker, requests skip it,
and after the cooldown one health probe half-opens it and, the provider recovered, closes it;
`GET /admin/v1/deployments` and `/ready` show each step.

The model has two deployments: `flaky` (a small provider of the test's own that fails while the
test says so, preferred by its priority) and `healthy` (the mock provider).
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.helpers.polling import wait_for
from tests.helpers.prometheus import scrape, total
from tests.helpers.servers import free_port, start_process_server

PALISADE = [sys.executable, "-m", "palisade.cli"]
MOCK_KEY = "probes-mock-key"
ADMIN_TOKEN = "probes-admin-" + "Xy7" * 8
VIEWER_TOKEN = "probes-viewer-" + "Kp3" * 8
INTERVAL_S = 1.5
COOLDOWN_S = 3.0
FLAKY = "flaky:mock-gpt"


@dataclass
class Flaky:
    """An OpenAI-dialect provider that answers 500 to everything while `failing`."""

    port: int = 0
    failing: bool = False
    # (method, path, status) of every call, in order.
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, method: str, status: int | None = None, since: int = 0) -> int:
        with self.lock:
            return sum(
                1
                for m, _, s in self.calls[since:]
                if m == method and (status is None or s == status)
            )


@contextmanager
def flaky_upstream() -> Iterator[Flaky]:
    state = Flaky()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            with state.lock:
                state.calls.append((self.command, self.path, status))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _failed(self) -> bool:
            if state.failing:
                self._answer(500, {"error": {"message": "flaky is down", "type": "server_error"}})
            return state.failing

        def do_GET(self) -> None:
            if not self._failed():
                self._answer(200, {"object": "list", "data": [{"id": "mock-gpt"}]})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            if not self._failed():
                self._answer(
                    200,
                    {
                        "id": "chatcmpl-flaky",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": "mock-gpt",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "from flaky"},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                    },
                )

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def gateway(tmp: Path, flaky: Flaky) -> Iterator[str]:
    mock_port, port = free_port(), free_port()
    config = tmp / "palisade.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: 1}}
store: {{sqlite_path: {tmp / "palisade.db"}}}
auto_providers: false
admin: {{token: {ADMIN_TOKEN}, viewer_token: {VIEWER_TOKEN}}}
providers:
  flaky:
    base_url: http://127.0.0.1:{flaky.port}/v1
    api_key: flaky-key
  healthy:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*"]
models:
  mock-gpt:
    deployments:
      - {{provider: flaky, priority: 1}}
      - {{provider: healthy}}
routing:
  breaker: {{consecutive_failures: 5, cooldown_s: {COOLDOWN_S}}}
  probes: {{interval_s: {INTERVAL_S}, timeout_s: 1}}
"""
    )
    mock_argv = [*PALISADE, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        start_process_server(mock_argv, mock_port),
        start_process_server([*PALISADE, "serve", "--config", str(config)], port) as server,
    ):
        yield server.url


def chat(url: str) -> httpx.Response:
    answer = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": "Bearer client-key"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer


def deployment(url: str, token: str = VIEWER_TOKEN) -> dict[str, Any]:
    answer = httpx.get(
        f"{url}/admin/v1/deployments", headers={"authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = next(d for d in answer.json()["data"] if d["id"] == FLAKY)
    return found


def test_five_failures_open_the_breaker_requests_skip_it_and_a_probe_closes_it(
    tmp_path: Path,
) -> None:
    with flaky_upstream() as flaky, gateway(tmp_path, flaky) as url:
        assert httpx.get(f"{url}/admin/v1/deployments", timeout=10).status_code == 401
        full = deployment(url, ADMIN_TOKEN)
        assert (full["provider"], full["model"], full["groups"]) == (
            "flaky",
            "mock-gpt",
            ["mock-gpt"],
        )
        assert (full["priority"], full["weight"], full["breaker"]) == (1, 1.0, "closed")
        # The probes run (both providers are on loopback: probed by default).
        listed = httpx.get(
            f"{url}/admin/v1/deployments",
            headers={"authorization": f"Bearer {VIEWER_TOKEN}"},
            timeout=10,
        ).json()
        assert {d["id"]: d["probe"] for d in listed["data"]} == {
            FLAKY: True,
            "healthy:mock-gpt": True,
        }
        assert isinstance(listed["worker_pid"], int)
        assert "each worker" in listed["note"]
        probed = wait_for(lambda: deployment(url)["last_probe"], INTERVAL_S * 2 + 5)
        assert probed["outcome"] == "ok"
        assert chat(url).headers["x-palisade-served-by"] == "flaky"

        # Just after a (successful) probe, so that the next one comes after the five calls
        # below.
        wait_for(lambda: deployment(url)["last_probe"]["at"] != probed["at"], INTERVAL_S * 2)
        flaky.failing = True
        mark = len(flaky.calls)
        for _ in range(4):
            answer = chat(url)
            # Each call failed on flaky and was retried on healthy.
            assert answer.headers["x-palisade-served-by"] == "healthy"
            assert answer.headers["x-palisade-attempts"] == "2"
        assert deployment(url)["breaker"] == "closed"
        chat(url)
        opened = deployment(url)
        assert opened["breaker"] == "open"
        assert opened["open_until"] is not None
        assert flaky.count("POST", 500, since=mark) == 5

        # Open: every request goes straight to healthy; flaky sees no call, not even a probe.
        for _ in range(10):
            answer = chat(url)
            assert answer.headers["x-palisade-served-by"] == "healthy"
            assert answer.headers["x-palisade-attempts"] == "1"
        assert len(flaky.calls) == mark + 5
        ready = httpx.get(f"{url}/ready", timeout=10)
        assert ready.status_code == 200  # healthy still serves the model
        assert ready.json()["deployments"][FLAKY]["breaker"] == "open"
        assert ready.json()["checks"]["models"] == "ok"

        # Recovered: after the cooldown one probe (no request is sent) half-opens the
        # breaker and its success closes it.
        flaky.failing = False
        closed = wait_for(
            lambda: (d := deployment(url))["breaker"] == "closed" and d,
            COOLDOWN_S + INTERVAL_S * 1.1 + 5,
        )
        assert closed["last_probe"]["outcome"] == "ok"
        # Sent once the cooldown was over (both UTC ISO 8601 with milliseconds).
        assert closed["last_probe"]["at"] >= opened["open_until"]
        assert flaky.count("GET", 200, since=mark) == 1
        assert flaky.count("POST", since=mark) == 5
        # Traffic returns to it.
        answer = chat(url)
        assert answer.headers["x-palisade-served-by"] == "flaky"
        assert answer.headers["x-palisade-attempts"] == "1"

        samples = scrape(url)
        assert total(samples, "llm_probes_total", deployment=FLAKY, outcome="ok") >= 2
        assert total(samples, "llm_probe_duration_seconds_count", deployment=FLAKY) >= 2
