from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from palisade.cli import main
from palisade.identity.runtime import SCHEMAS
from palisade.store import proxies, proxy_deployments
from palisade.store.sqlite import connect


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "palisade.yaml"
    path.write_text(
        f"""
server: {{gateway: blue}}
store: {{sqlite_path: {tmp_path / "deploy.db"}}}
auto_providers: false
guardrails:
  mask: {{type: pii, action: mask}}
providers:
  mock: {{base_url: "http://127.0.0.1:1/v1"}}
proxies:
  - {{name: default}}
  - {{name: Bot}}
"""
    )
    return path


def run(config: Path, *argv: str) -> int:
    return main(["proxies", "--config", str(config), *argv])


def served(config: Path, gateway: str) -> dict[str, list[str]]:
    """What `gateway` runs: each proxy's guardrails."""
    conn = connect(str(config.parent / "deploy.db"), SCHEMAS)
    try:
        latest = proxies.current(conn)
        assert latest is not None
        running, _ = proxy_deployments.serving(conn, gateway, latest.proxies)
    finally:
        conn.close()
    return {p["id"]: p["guardrails"] for p in running}


def edit_bot(config: Path) -> None:
    """Version 2 of `bot`, with a guardrail (made as the admin API would)."""
    conn = connect(str(config.parent / "deploy.db"), SCHEMAS)
    try:
        bot = {"id": "bot", "name": "Bot", "description": "", "guardrails": ["mask"]}
        proxies.put(conn, "admin", {**bot, "auth": [], "providers": [], "models": []}, create=False)
    finally:
        conn.close()


def test_deploy_stop_history_and_rollback(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "deployments", "bot") == 0
    assert "runs on every gateway" in capsys.readouterr().out

    # --gateway defaults to the config's server.gateway.
    assert run(config, "deploy", "bot") == 0
    assert "deployment 1: deployed version 1 of bot on the gateway blue" in capsys.readouterr().out
    assert served(config, "blue")["bot"] == []
    assert "bot" not in served(config, "red")

    edit_bot(config)
    assert served(config, "blue")["bot"] == []  # pinned: the edit is not deployed yet
    assert run(config, "deploy", "bot", "--gateway", "blue") == 0
    assert "deployment 2: deployed version 2" in capsys.readouterr().out
    assert served(config, "blue")["bot"] == ["mask"]
    assert run(config, "deploy", "bot", "--gateway", "red", "--version", "1") == 0
    assert served(config, "red")["bot"] == []

    # Deploying what already runs, or stopping what does not, is nothing to do (exit 0).
    assert run(config, "deploy", "bot", "--gateway", "blue") == 0
    assert "already deployed" in capsys.readouterr().err
    assert run(config, "stop", "bot", "--gateway", "blue") == 0
    assert "stopped bot on the gateway blue" in capsys.readouterr().out
    assert "bot" not in served(config, "blue")
    assert run(config, "stop", "bot", "--gateway", "blue") == 0
    assert "not deployed" in capsys.readouterr().err

    assert run(config, "rollback", "1") == 0
    assert "deployment 5: deployed version 1 of bot on the gateway blue" in (
        capsys.readouterr().out
    )
    assert served(config, "blue")["bot"] == []

    assert run(config, "deployments", "bot") == 0
    text = capsys.readouterr().out
    assert "runs on blue: version 1 (deployment 5)" in text
    assert "runs on red: version 1 (deployment 3)" in text
    lines = [line.split() for line in text.splitlines() if line[:1].isdigit()]
    assert [(row[0], row[3], row[-1]) for row in lines] == [
        ("5", "rollback", "Deployed"),
        ("4", "stop", "superseded"),
        ("3", "deploy", "Deployed"),
        ("2", "deploy", "Latest"),
        ("1", "deploy", "superseded"),
    ]
    assert run(config, "deployments", "bot", "--json") == 0
    found = orjson.loads(capsys.readouterr().out)
    assert (found["latest_version"], found["data"][0]["rollback_of"]) == (2, 1)
    assert found["data"][0]["who"].startswith("cli")

    assert run(config, "versions", "bot") == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(r[0], r[-1]) for r in rows] == [("2", "update"), ("1", "seed")]


def test_gateways_list(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "deploy", "bot", "--gateway", "red") == 0
    capsys.readouterr()
    assert main(["gateways", "--config", str(config), "list"]) == 0
    text = capsys.readouterr().out
    assert "blue  (0 live of 0 replicas seen)" in text
    red = text.split("red  ", 1)[1]
    assert "bot" in red
    assert "deployment 1, latest" in red
    assert main(["gateways", "list", "--config", str(config), "--json"]) == 0
    listing = orjson.loads(capsys.readouterr().out)
    assert listing["gateway"] == "blue"
    by_name = {g["name"]: [p["proxy"] for p in g["proxies"]] for g in listing["data"]}
    assert by_name == {"blue": ["default"], "red": ["default", "bot"]}


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["deploy", "nope"], 1, "no LLM proxy has the id `nope`"),
        (["deploy", "bot", "--gateway", "Blue Two"], 1, "a gateway name is"),
        (["deploy", "bot", "--version", "9"], 1, "has no version 9"),
        (["stop", "nope"], 1, "no LLM proxy"),
        (["rollback", "42"], 1, "there is no deployment 42"),
        (["deployments", "nope"], 1, "no LLM proxy"),
        (["versions", "nope"], 1, "no LLM proxy"),
    ],
)
def test_refusals_say_why(
    config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, says: str
) -> None:
    assert run(config, *argv) == code
    assert says in capsys.readouterr().err


def test_a_broken_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: {gateway: 'No Good'}\n")
    assert main(["proxies", "--config", str(bad), "deploy", "x"]) == 2
    assert "server.gateway" in capsys.readouterr().err
