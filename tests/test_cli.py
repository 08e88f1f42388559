from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _serve(tmp_path: Path, config: str, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "palisade.yaml"
    path.write_text(config)
    return subprocess.run(
        [sys.executable, "-m", "palisade.cli", "serve", "--config", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    for config, extra in (("server: {workers: 2}\n", ()), ("{}\n", ("--workers", "3"))):
        done = _serve(tmp_path, config, *extra)
        assert done.returncode == 2
        assert "store.redis_url" in done.stderr
        assert "workers" in done.stderr
        assert "one worker" in done.stderr


def _palisade(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "palisade.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_config_check_accepts_the_repository_default() -> None:
    path = Path(__file__).parents[1] / "palisade.yaml"
    done = _palisade("config", "check", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith(f"{path}: OK")


def test_config_check_reports_every_error_and_exits_2(tmp_path: Path) -> None:
    import os

    path = tmp_path / "palisade.yaml"
    path.write_text(
        "server: {port: 70000, prot: 1}\n"
        "providers: {mock: {api_key: x}}\n"
        "store: {redis_url: '${SECRET_URL}'}\n"
    )
    env = {**os.environ, "SECRET_URL": "http://user:pa55word@host"}
    done = _palisade("config", "check", str(path), env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines == [
        f"palisade: {path}: server.port: must be a port number (0-65535), not 70000",
        f"palisade: {path}: server.prot: unknown key (known keys: drain_delay_s, gateway, "
        "host, max_connections, port, shutdown_grace_s, workers)",
        f"palisade: {path}: store.redis_url: must start with redis:// or rediss://",
        # A check that needs the provider's name (a known provider's has a URL): after the
        # checks of single keys.
        f"palisade: {path}: providers.mock.base_url: is required (not a known provider's name)",
    ]
    assert "pa55word" not in done.stderr


def test_config_schema_describes_the_file() -> None:
    import json

    done = _palisade("config", "schema")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["title"] == "palisade.yaml"
    assert schema["additionalProperties"] is False
    assert {"server", "providers", "guardrails", "proxies", "limits"} <= set(schema["properties"])
    server = schema["$defs"]["ServerConfig"]["properties"]
    assert server["port"]["default"] == 8080
    assert server["port"]["description"].startswith("port")
    # `port: ${PALISADE_PORT:-8080}` is valid for an editor too.
    assert any(s.get("type") == "string" and "pattern" in s for s in server["port"]["anyOf"])
