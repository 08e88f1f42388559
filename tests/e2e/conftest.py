"""A real mock provider and a real Granian gateway, started once for the e2e suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest
from playwright.sync_api import Browser

from tests.e2e.console_stack import ConsoleStack, Tab, offline_tab, start_browser
from tests.helpers.raw_upstream import RawUpstream, raw_upstream
from tests.helpers.servers import free_port, start_process_server

MOCK_KEY = "mock-provider-key"
CLIENT_KEY = "client-side-key"
# The admin API is on so that the `secrets` guardrails have an admin token to find.
ADMIN_TOKEN = "e2e-admin-token-" + "Zq8" * 6
# Low, so that tests/e2e/test_errors.py can pass it cheaply; high enough for Claude Code, whose
# first request (system prompt and tool schemas) is already about 90 kB.
MAX_BODY_BYTES = 512 * 1024


@dataclass
class Stack:
    gateway: str
    mock: str
    raw: RawUpstream

    def mock_requests(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        requests: list[dict[str, Any]] = answer.json()
        return requests

    def clear_mock(self) -> None:
        httpx.delete(f"{self.mock}/_mock/requests").raise_for_status()


# Proxies with guardrails for tests/e2e/test_guardrails.py; `default` has none, so every other
# e2e test sees traffic passed through untouched.
GUARDRAILS = r"""
guardrails:
  pii-mask: {type: pii, entities: [email, phone], action: mask}
  pii-redact: {type: pii, direction: request, action: redact}
  pii-block: {type: pii, entities: [email], direction: request, action: block}
  secrets-block: {type: secrets, action: block}
  secrets-redact: {type: secrets, direction: response, action: redact}
  house-rules:
    type: rules
    patterns: {project_code: 'PRJ-[0-9]{4}'}
    keywords: {codenames: [bluebird, nightjar]}
    action: redact
  injection: {type: injection, flag_threshold: 0.5, block_threshold: 0.8}
  tool-rules:
    type: tool_policies
    rules:
      - name: no-rm
        tool: run_shell
        when: [{argument: command, contains: "rm -rf"}]
        action: block
      - {name: no-delete, tool: "delete_*", action: block}
      - {name: mail-guard, tool: send_email, action: block_when_context_untrusted}
  trust:
    type: trusted_data
    rules:
      - {name: weather-ok, tool: get_weather, action: trust}
      - {name: no-keys, tool: "*", when: [{contains: "BEGIN PRIVATE KEY"}], action: block}
proxies:
  - {name: default}
  - {name: Masked, guardrails: [pii-mask]}
  - {name: Redacted, guardrails: [pii-redact, secrets-redact, house-rules]}
  - {name: Blocking, guardrails: [pii-block, secrets-block]}
  - {name: Injection, guardrails: [injection]}
  - {name: Agents, guardrails: [tool-rules, trust]}
default_proxy: default
"""


def write_config(path: Path, gateway_port: int, mock_port: int, raw_port: int) -> None:
    dead_port = free_port()  # nothing listens there
    path.write_text(
        f"""
server: {{host: 127.0.0.1, port: {gateway_port}}}
store: {{sqlite_path: {path.parent / "palisade.db"}}}
auto_providers: false
admin: {{token: {ADMIN_TOKEN}}}
firewall: {{max_body_bytes: {MAX_BODY_BYTES}}}
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*", "gpt-*", "text-embedding-*"]
  mock-anthropic:
    kind: anthropic
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["claude-*"]
  mock-gemini:
    kind: gemini
    base_url: http://127.0.0.1:{mock_port}/v1beta
    api_key: {MOCK_KEY}
    models: ["gemini-*"]
  slow:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    read_timeout_s: 1
  dead:
    base_url: http://127.0.0.1:{dead_port}/v1
  rawstream:
    base_url: http://127.0.0.1:{raw_port}/stream/v1
  rawhang:
    base_url: http://127.0.0.1:{raw_port}/hang/v1
{GUARDRAILS}"""
    )


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    mock_port, gateway_port = free_port(), free_port()
    palisade = [sys.executable, "-m", "palisade.cli"]
    with raw_upstream() as raw:
        config = tmp / "palisade.yaml"
        write_config(config, gateway_port, mock_port, raw.port)
        mock_argv = [*palisade, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
        gateway_argv = [*palisade, "serve", "--config", str(config)]
        with (
            start_process_server(mock_argv, mock_port),
            start_process_server(gateway_argv, gateway_port),
        ):
            yield Stack(
                gateway=f"http://127.0.0.1:{gateway_port}",
                mock=f"http://127.0.0.1:{mock_port}",
                raw=raw,
            )


@pytest.fixture(scope="session")
def client(stack: Stack) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{stack.gateway}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=20
    ) as c:
        yield c


@pytest.fixture
async def async_client(stack: Stack) -> Any:
    async with openai.AsyncOpenAI(
        base_url=f"{stack.gateway}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=20
    ) as c:
        yield c


# The console's browser tests: each module starts its own `stack` (a `ConsoleStack`).
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from start_browser()


@pytest.fixture
def tab(browser: Browser, stack: ConsoleStack) -> Iterator[Tab]:
    yield from offline_tab(browser, stack.gateway)
