"""A guardrail edited through the admin API changes what a two-worker gateway does within a
poll: the openai SDK as the client, our mock as the provider (it records what reached it),
a real Granian server with Redis for the workers' shared state."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import openai
import pytest

from tests.helpers.polling import until
from tests.helpers.redis_server import redis_server
from tests.helpers.servers import free_port, start_process_server

MOCK_KEY = "guardrail-admin-mock-key"
ADMIN = "guardrail-admin-token-" + "Hq4" * 6
VIEWER = "guardrail-viewer-token-" + "Tz8" * 6
EMAIL = "jane.doe@example.com"


@dataclass
class Stack:
    gateway: str
    mock: str

    def admin(self, method: str, path: str, token: str = ADMIN, **kw: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.gateway}/admin/v1/guardrails{path}",
            headers={"authorization": f"Bearer {token}"},
            timeout=20,
            **kw,
        )

    def mock_requests(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    def clear_mock(self) -> None:
        httpx.delete(f"{self.mock}/_mock/requests").raise_for_status()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("admin-guardrails")
    mock_port, port = free_port(), free_port()
    config = tmp / "palisade.yaml"
    py = sys.executable
    with redis_server() as redis:
        config.write_text(
            f"""
server: {{host: 127.0.0.1, port: {port}, workers: 2}}
store: {{sqlite_path: {tmp / "g.db"}, redis_url: "{redis.url}"}}
admin: {{token: {ADMIN}, viewer_token: {VIEWER}}}
identity: {{sync_interval_s: 0.5}}
auto_providers: false
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["gpt-*"]
guardrails:
  pii-guard: {{type: pii, entities: [email], direction: request, action: redact}}
proxies:
  - {{name: default}}
  - {{name: Guarded, guardrails: [pii-guard]}}
default_proxy: default
"""
        )
        mock_argv = [py, "-m", "palisade.cli", "mock-upstream", "--port", str(mock_port)]
        mock_argv += ["--api-key", MOCK_KEY]
        gateway_argv = [py, "-m", "palisade.cli", "serve", "--config", str(config)]
        with (
            start_process_server(mock_argv, mock_port) as mock,
            start_process_server(gateway_argv, port, workers=2) as gateway,
        ):
            yield Stack(gateway=gateway.url, mock=mock.url)


def burst(stack: Stack, n: int = 16) -> list[str | None]:
    """`n` calls at once through the `guarded` proxy, each on its own connection so that both
    workers answer some; the error code of each, None for a success."""

    def one(_: int) -> str | None:
        client = openai.OpenAI(
            base_url=f"{stack.gateway}/guarded", api_key="any", max_retries=0, timeout=20
        )
        with client:
            try:
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"Mail {EMAIL}"}]
                )
            except openai.APIStatusError as exc:
                return str(exc.code)
        return None

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def test_an_edited_guardrail_changes_calls_on_every_worker_and_a_rollback_restores_it(
    stack: Stack,
) -> None:
    # Redact: the provider sees no address, the client gets an answer.
    stack.clear_mock()
    assert burst(stack) == [None] * 16
    seen = stack.mock_requests()
    assert len(seen) == 16
    assert all(EMAIL not in str(r["body"]) for r in seen)
    before = stack.admin("GET", "/pii-guard", token=VIEWER).json()
    assert (before["action"], before["proxies"]) == ("redact", ["guarded"])

    changed = stack.admin("PUT", "/pii-guard", json={**before, "action": "block"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] > before["version"]
    took = until(
        lambda: burst(stack) == ["pii_detected"] * 16, 5, "the blocking guardrail on both workers"
    )
    assert took < 5
    stack.clear_mock()
    with (
        openai.OpenAI(base_url=f"{stack.gateway}/guarded", api_key="k", max_retries=0) as c,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        c.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"Mail {EMAIL}"}]
        )
    assert caught.value.type == "guardrail_violation"
    assert "pii-guard" in caught.value.message
    assert stack.mock_requests() == []

    rolled = stack.admin("POST", f"/versions/{before['version']}/rollback")
    assert rolled.status_code == 200, rolled.text
    until(lambda: burst(stack) == [None] * 16, 5, "the redacting guardrail back on both workers")
    assert stack.admin("GET", "/pii-guard", token=VIEWER).json()["action"] == "redact"


def test_refusals_delete_attached_bad_settings_and_the_viewer(stack: Stack) -> None:
    attached = stack.admin("DELETE", "/pii-guard")
    assert attached.status_code == 409
    assert attached.json()["error"]["code"] == "guardrail_in_use"
    assert "`guarded`" in attached.json()["error"]["message"]

    bad = stack.admin("PUT", "/pii-guard", json={"type": "pii", "entities": ["email", "dna"]})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "invalid_guardrail",
        "entities[1]",
    )
    assert "guardrail: entities[1]: unknown pii entity 'dna'" in error["message"]

    for method, path in [("PUT", "/pii-guard"), ("POST", ""), ("DELETE", "/pii-guard")]:
        refused = stack.admin(method, path, token=VIEWER, json={"name": "x", "type": "pii"})
        assert refused.status_code == 403
    # Nothing above was written: still the redacting guardrail, on every worker.
    assert stack.admin("GET", "/pii-guard", token=VIEWER).json()["action"] == "redact"
    assert burst(stack) == [None] * 16
