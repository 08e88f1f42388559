"""Deploy to gateway through real Granian servers: two replicas of the gateway `blue` and one of
`red`, on one SQLite store, called with the official SDKs. Changes are made through the admin
API of the first replica (or the CLI) and must reach the others within seconds, unrestarted."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from tests.helpers.polling import until
from tests.helpers.servers import RunningServer, free_port, start_process_server

MOCK_KEY = "mock-provider-key-gw"
ADMIN = "gateways-admin-token"
VIEWER = "gateways-viewer-token"
# A change reaches a replica within a poll (0.5 s here); a few seconds is the promise.
PROPAGATION_S = 5.0
MESSAGES: list[Any] = [{"role": "user", "content": "hello"}]


@dataclass
class Replicas:
    config: Path
    blue1: RunningServer
    blue2: RunningServer
    red: RunningServer

    def admin(self, method: str, path: str, token: str = ADMIN, **kw: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.blue1.url}/admin/v1{path}",
            headers={"authorization": f"Bearer {token}"},
            timeout=20,
            **kw,
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "palisade.cli", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    tmp = tmp_path_factory.mktemp("gateways")
    mock_port = free_port()
    config = tmp / "palisade.yaml"
    # One file for every replica; the environment says which port and gateway (as a
    # deployment's manifest would).
    config.write_text(
        f"""
server:
  host: 127.0.0.1
  port: ${{PALISADE_PORT:-8080}}
  gateway: ${{PALISADE_GATEWAY:-default}}
store: {{sqlite_path: {tmp / "shared.db"}}}
admin: {{token: {ADMIN}, viewer_token: {VIEWER}}}
identity: {{sync_interval_s: 0.5}}
auto_providers: false
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*"]
  mock-anthropic:
    kind: anthropic
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["claude-*"]
proxies:
  - {{name: default}}
"""
    )
    py = [sys.executable, "-m", "palisade.cli"]
    serve = [*py, "serve", "--config", str(config)]
    ports = {name: free_port() for name in ("blue1", "blue2", "red")}

    def env(name: str) -> dict[str, str]:
        return {"PALISADE_PORT": str(ports[name]), "PALISADE_GATEWAY": name.rstrip("12")}

    mock = [*py, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        start_process_server(mock, mock_port),
        start_process_server(serve, ports["blue1"], env("blue1")) as blue1,
        start_process_server(serve, ports["blue2"], env("blue2")) as blue2,
        start_process_server(serve, ports["red"], env("red")) as red,
    ):
        yield Replicas(config=config, blue1=blue1, blue2=blue2, red=red)


def chat(server: RunningServer, proxy: str, model: str) -> str:
    """`ok`, or the gateway's error code for a chat call through `proxy`."""
    with openai.OpenAI(
        base_url=f"{server.url}/v1/openai/{proxy}", api_key="client", max_retries=0, timeout=20
    ) as client:
        try:
            client.chat.completions.create(model=model, messages=MESSAGES)
        except openai.APIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            code = body.get("code") or body.get("error", {}).get("code")
            return f"{exc.status_code} {code}"
    return "ok"


def create(replicas: Replicas, name: str, models: list[str]) -> dict[str, Any]:
    made = replicas.admin("POST", "/proxies", json={"name": name, "models": models})
    assert made.status_code == 201, made.text
    proxy: dict[str, Any] = made.json()
    return proxy


def test_deploy_and_stop_start_and_stop_calls_on_every_replica_within_seconds(
    replicas: Replicas,
) -> None:
    every = (replicas.blue1, replicas.blue2, replicas.red)
    create(replicas, "Shop", ["mock-a*"])
    # Never deployed: it runs on every gateway, like every proxy made before deployments.
    until(lambda: all(chat(s, "shop", "mock-a1") == "ok" for s in every), 10.0, "served everywhere")

    deployed = replicas.admin("POST", "/proxies/shop/deployments", json={"gateway": "blue"})
    assert deployed.status_code == 201, deployed.text
    assert chat(replicas.blue1, "shop", "mock-a1") == "ok"  # the answering replica: at once
    took = until(
        lambda: chat(replicas.red, "shop", "mock-a1") == "404 proxy_not_deployed",
        10.0,
        "red refuses a proxy deployed on blue only",
    )
    assert took < PROPAGATION_S
    assert chat(replicas.blue2, "shop", "mock-a1") == "ok"

    stopped = replicas.admin("DELETE", "/proxies/shop/deployments/blue")
    assert stopped.status_code == 200, stopped.text
    assert chat(replicas.blue1, "shop", "mock-a1") == "404 proxy_not_deployed"
    took = until(
        lambda: chat(replicas.blue2, "shop", "mock-a1") == "404 proxy_not_deployed",
        10.0,
        "the second blue replica stops serving",
    )
    assert took < PROPAGATION_S

    again = replicas.admin("POST", "/proxies/shop/deployments", json={"gateway": "blue"})
    assert again.status_code == 201, again.text
    took = until(
        lambda: chat(replicas.blue2, "shop", "mock-a1") == "ok",
        10.0,
        "the second blue replica serves again",
    )
    assert took < PROPAGATION_S
    assert chat(replicas.blue1, "shop", "mock-a1") == "ok"
    assert chat(replicas.red, "shop", "mock-a1") == "404 proxy_not_deployed"


def test_a_deployment_pins_a_version_and_rollback_restores_it(replicas: Replicas) -> None:
    made = create(replicas, "Pinned", ["mock-a*"])
    first = replicas.admin("POST", "/proxies/pinned/deployments", json={"gateway": "blue"})
    assert first.json()["version"] == made["version"]
    until(lambda: chat(replicas.blue2, "pinned", "mock-a1") == "ok", 10.0, "deployed on blue2")

    edited = replicas.admin(
        "PUT", "/proxies/pinned", json={"name": "Pinned", "models": ["mock-b*"]}
    )
    assert edited.status_code == 200, edited.text
    time.sleep(1.5)  # three polls: an edit alone must change nothing that runs
    for server in (replicas.blue1, replicas.blue2):
        assert chat(server, "pinned", "mock-a1") == "ok"
        assert chat(server, "pinned", "mock-b1") == "403 model_not_allowed"

    latest = replicas.admin("POST", "/proxies/pinned/deployments", json={"gateway": "blue"})
    assert latest.json()["version"] == edited.json()["version"]
    until(
        lambda: chat(replicas.blue2, "pinned", "mock-b1") == "ok",
        10.0,
        "the newest version runs on blue2",
    )
    assert chat(replicas.blue2, "pinned", "mock-a1") == "403 model_not_allowed"

    rolled = replicas.admin("POST", f"/proxies/pinned/deployments/{first.json()['id']}/rollback")
    assert rolled.status_code == 201, rolled.text
    assert (rolled.json()["version"], rolled.json()["latest"]) == (made["version"], False)
    took = until(
        lambda: chat(replicas.blue2, "pinned", "mock-a1") == "ok",
        10.0,
        "the rolled-back version runs on blue2",
    )
    assert took < PROPAGATION_S
    assert chat(replicas.blue2, "pinned", "mock-b1") == "403 model_not_allowed"

    history = replicas.admin("GET", "/proxies/pinned/deployments", token=VIEWER).json()
    assert [(r["action"], r["deployed"], r["latest"]) for r in history["data"]] == [
        ("rollback", True, False),
        ("deploy", False, True),
        ("deploy", False, False),
    ]


def test_the_refusal_is_in_the_client_s_dialect(replicas: Replicas) -> None:
    create(replicas, "Claude Only Red", [])
    replicas.admin("POST", "/proxies/claude-only-red/deployments", json={"gateway": "red"})
    bodies: list[Any] = []
    with anthropic.Anthropic(
        base_url=f"{replicas.blue2.url}/claude-only-red", api_key="client", max_retries=0
    ) as claude:

        def refused() -> bool:
            try:
                claude.messages.create(model="claude-x", max_tokens=16, messages=MESSAGES)
            except anthropic.NotFoundError as exc:
                bodies.append(exc.body)
                return "not deployed" in str(exc.body)
            return False

        until(refused, 10.0, "the anthropic route of blue2 refuses it as not deployed")
    body = bodies[-1]
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert "is not deployed on the gateway `blue`" in body["error"]["message"]
    until(lambda: chat(replicas.red, "claude-only-red", "mock-x") == "ok", 10.0, "red serves it")


def test_the_gateway_list_shows_each_gateway_its_replicas_and_proxies(replicas: Replicas) -> None:
    create(replicas, "Listed", [])
    replicas.admin("POST", "/proxies/listed/deployments", json={"gateway": "red"})
    listing = replicas.admin("GET", "/gateways", token=VIEWER).json()
    assert listing["gateway"] == "blue"
    by_name = {g["name"]: g for g in listing["data"]}
    assert {"blue", "red"} <= set(by_name)
    assert by_name["blue"]["live_replicas"] == 2
    assert by_name["red"]["live_replicas"] == 1
    red = {p["proxy"]: p for p in by_name["red"]["proxies"]}
    blue = {p["proxy"] for p in by_name["blue"]["proxies"]}
    assert red["listed"]["everywhere"] is False
    assert red["default"]["everywhere"] is True
    assert "listed" not in blue


def test_the_cli_deploys_and_stops_on_running_replicas(replicas: Replicas) -> None:
    create(replicas, "Cli", [])
    done = replicas.cli("proxies", "deploy", "cli", "--gateway", "red")
    assert done.returncode == 0, done.stderr
    until(
        lambda: chat(replicas.red, "cli", "mock-1") == "ok", 10.0, "red serves after the CLI deploy"
    )
    until(
        lambda: chat(replicas.blue2, "cli", "mock-1") == "404 proxy_not_deployed",
        10.0,
        "blue refuses it",
    )
    done = replicas.cli("proxies", "stop", "cli", "--gateway", "red")
    assert done.returncode == 0, done.stderr
    took = until(
        lambda: chat(replicas.red, "cli", "mock-1") == "404 proxy_not_deployed",
        10.0,
        "red stops serving after the CLI stop",
    )
    assert took < PROPAGATION_S
    history = replicas.cli("proxies", "deployments", "cli")
    assert history.returncode == 0, history.stderr
    assert "stop" in history.stdout
    assert "cli:" in history.stdout
