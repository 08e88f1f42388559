"""Gateways for the stage 3 tests: a mock provider, and Palisade with limits, budgets and dedup,
on the Redis backend (two Granian workers) or the in-process one (one worker)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import openai

from tests.helpers.redis_server import RedisServer
from tests.helpers.servers import RunningServer, free_port, start_process_server

MOCK_KEY = "mock-provider-key"
PALISADE = [sys.executable, "-m", "palisade.cli"]

# Every test uses its own proxy or its own ids, so that the windows of one never count another.
LIMITS = """
proxies:
  - {name: default}
  - {name: crowd}
  - {name: agents}
  - {name: tokens}
  - {name: budget}
  - {name: strict-budget, refuse_unpriced: true}
  - {name: guarded, guardrails: [no-secrets]}
guardrails:
  no-secrets: {type: secrets, action: block}
default_proxy: default
limits:
  - {name: crowd-rpm, scope: [proxy, agent], rpm: 10, proxies: [crowd]}
  - {name: per-agent, scope: [agent], rpm: 3, proxies: [agents, guarded]}
  - {name: user-tokens, scope: [user], tpm: 50000, proxies: [tokens]}
  - {name: user-tokens-small, scope: [proxy, user], tpm: 400, proxies: [tokens]}
budgets:
  - {name: user-daily, scope: user, usd: 0.005, period: day, proxies: [budget]}
  - {name: strict-daily, scope: user, usd: 1, period: day, proxies: [strict-budget]}
pricing:
  mock-priced: {input: 1000, output: 1000}
"""


@dataclass
class LimitsStack:
    gateway: str
    mock: str
    backend: str
    redis: RedisServer | None = None

    def workers_on_redis(self) -> int:
        """Redis connections that ran a script: one per gateway worker that served a limited or
        deduplicated request (each worker keeps one connection)."""
        assert self.redis is not None
        clients = self.redis.command("CLIENT", "LIST").decode()
        return sum("cmd=evalsha" in line for line in clients.splitlines())

    def client(self, proxy: str = "default") -> openai.AsyncOpenAI:
        base = f"{self.gateway}/v1" if proxy == "default" else f"{self.gateway}/{proxy}"
        return openai.AsyncOpenAI(base_url=base, api_key="client", max_retries=0, timeout=30)

    def url(self, proxy: str, path: str = "chat/completions") -> str:
        return f"{self.gateway}/v1/openai/{proxy}/{path}"

    def upstream_calls(self, path: str = "/v1/chat/completions") -> int:
        stats = httpx.get(f"{self.mock}/_mock/stats").json()
        return int(stats["requests"].get(path, 0))

    def clear_mock(self) -> None:
        httpx.delete(f"{self.mock}/_mock/requests").raise_for_status()


def write_config(
    path: Path,
    *,
    port: int,
    mock_port: int,
    redis_url: str | None,
    workers: int,
    sqlite_path: Path,
    extra: str = "",
    on_failure: str = "fail_open",
    redis_timeout_s: float = 2.0,
) -> None:
    store = f"redis_url: {redis_url}, on_redis_failure: {on_failure}, " if redis_url else ""
    store += f"redis_timeout_s: {redis_timeout_s}, "
    path.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: {workers}}}
auto_providers: false
store: {{{store}sqlite_path: {sqlite_path}}}
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*", "gpt-*"]
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
  mock-cohere:
    kind: cohere
    base_url: http://127.0.0.1:{mock_port}
    api_key: {MOCK_KEY}
    models: ["command-*"]
  mock-bedrock:
    kind: bedrock
    base_url: http://127.0.0.1:{mock_port}
    region: us-east-1
    aws_access_key_id: AKIDPALISADETEST
    aws_secret_access_key: palisade-mock-aws-secret
dedup: {{ttl_s: 60, lock_ttl_s: 1}}
{LIMITS}
{extra}"""
    )


@contextmanager
def mock_upstream() -> Iterator[RunningServer]:
    port = free_port()
    argv = [*PALISADE, "mock-upstream", "--port", str(port), "--api-key", MOCK_KEY]
    with start_process_server(argv, port) as server:
        yield server


@contextmanager
def gateway(
    tmp: Path,
    mock_url: str,
    *,
    redis_url: str | None,
    workers: int,
    extra: str = "",
    name: str = "palisade.yaml",
    on_failure: str = "fail_open",
    redis_timeout_s: float = 2.0,
) -> Iterator[RunningServer]:
    """A gateway on `mock_url`; a generous Redis timeout unless a test is about timeouts (a
    loaded test machine must not turn a slow reply into fail_open and skew a count)."""
    port = free_port()
    config = tmp / name
    write_config(
        config,
        port=port,
        mock_port=int(mock_url.rsplit(":", 1)[1]),
        redis_url=redis_url,
        workers=workers,
        sqlite_path=tmp / "palisade.db",
        extra=extra,
        on_failure=on_failure,
        redis_timeout_s=redis_timeout_s,
    )
    argv = [*PALISADE, "serve", "--config", str(config)]
    with start_process_server(argv, port, workers=workers) as server:
        yield server
