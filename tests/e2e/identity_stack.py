"""A mock provider that also serves a JWKS, a two-worker gateway with a proxy per auth method,
and a one-worker probe gateway on the same store (tests/helpers/context_probe.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jwt
import openai
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.helpers.redis_server import redis_server
from tests.helpers.servers import RunningServer, free_port, start_process_server

MOCK_KEY = "mock-provider-key-7Qz"
ADMIN = "admin-token-for-tests"
VIEWER = "viewer-token-for-tests"
ISSUER = "https://idp.example.test"
AUDIENCE = "palisade-tests"
FAILED_AUTH_LIMIT = 3


def new_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**public, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class IdentityStack:
    tmp: Path
    config: Path
    db: Path
    gateway: RunningServer
    probe: RunningServer
    mock: str
    signing: rsa.RSAPrivateKey
    jwks_file: Path
    # Every secret handed out or sent during the tests: none may reach the store or the logs.
    secrets: list[str] = field(default_factory=list)

    def client(self, proxy: str, api_key: str, *, probe: bool = False) -> openai.OpenAI:
        base = (self.probe if probe else self.gateway).url
        return openai.OpenAI(base_url=f"{base}/{proxy}", api_key=api_key, max_retries=0, timeout=20)

    def keys_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "palisade.cli", "keys", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def create_key(self, proxy: str, name: str, *extra: str) -> tuple[str, str]:
        """(key id, token) of a key made with `palisade keys create`."""
        done = self.keys_cli("create", "--proxy", proxy, "--name", name, *extra)
        assert done.returncode == 0, done.stderr
        fields = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
        token = fields["key"].strip()
        self.secrets.append(token)
        return fields["id"].strip(), token

    def admin(self, method: str, path: str, token: str = ADMIN, **kw: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.gateway.url}/admin/v1{path}",
            headers={"authorization": f"Bearer {token}"},
            timeout=20,
            **kw,
        )

    def token(self, *, kid: str = "k1", key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-123",
            "iat": now,
            "exp": now + 600,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        signed = jwt.encode(payload, key or self.signing, algorithm="RS256", headers={"kid": kid})
        self.secrets.append(signed)
        return signed

    def publish(self, *keys: tuple[rsa.RSAPrivateKey, str]) -> None:
        self.jwks_file.write_bytes(orjson.dumps({"keys": [jwk(k, kid) for k, kid in keys]}))

    def mock_requests(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found


def write_config(path: Path, port: int, mock_port: int, db: Path, redis_url: str) -> None:
    # Two workers need Redis for stage 3's shared state, even with no limit configured.
    path.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: 2}}
store: {{sqlite_path: {db}, redis_url: "{redis_url}"}}
admin: {{token: {ADMIN}, viewer_token: {VIEWER}}}
identity:
  failed_auth_limit: {FAILED_AUTH_LIMIT}
  failed_auth_window_s: 600
  sync_interval_s: 0.5
  jwks_refresh_min_s: 0.1
auto_providers: false
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*", "gpt-*"]
  spare:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
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
proxies:
  - {{name: default}}
  - {{name: Keys, auth: [virtual_key]}}
  - {{name: Other, auth: [virtual_key]}}
  - {{name: BYOK, auth: [provider_key]}}
  - name: SSO
    auth: [jwt]
    jwt:
      issuer: {ISSUER}
      audience: {AUDIENCE}
      jwks_url: http://127.0.0.1:{mock_port}/_mock/jwks.json
  - {{name: Apps, auth: [oauth]}}
  - {{name: Narrow, auth: [virtual_key], providers: [mock], models: ["gpt-4o*"]}}
default_proxy: default
"""
    )


def start_stack(tmp: Path) -> Iterator[IdentityStack]:
    mock_port, gateway_port, probe_port = free_port(), free_port(), free_port()
    config, db, jwks_file = tmp / "palisade.yaml", tmp / "identity.db", tmp / "jwks.json"
    signing = new_rsa()
    jwks_file.write_bytes(orjson.dumps({"keys": [jwk(signing, "k1")]}))
    py = sys.executable
    mock_argv = [py, "-m", "palisade.cli", "mock-upstream", "--port", str(mock_port)]
    mock_argv += ["--jwks-file", str(jwks_file)]
    gateway_argv = [py, "-m", "palisade.cli", "serve", "--config", str(config)]
    probe_argv = [py, "-m", "tests.helpers.context_probe", "--config", str(config)]
    probe_argv += ["--port", str(probe_port)]
    with redis_server() as redis:
        write_config(config, gateway_port, mock_port, db, redis.url)
        with (
            start_process_server(mock_argv, mock_port) as mock,
            start_process_server(gateway_argv, gateway_port, workers=2) as gateway,
            start_process_server(probe_argv, probe_port) as probe,
        ):
            yield IdentityStack(
                tmp=tmp,
                config=config,
                db=db,
                gateway=gateway,
                probe=probe,
                mock=mock.url,
                signing=signing,
                jwks_file=jwks_file,
            )
