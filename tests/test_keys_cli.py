from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from palisade.cli import main
from palisade.identity import credentials
from palisade.store import keys
from palisade.store.sqlite import connect


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "palisade.yaml"
    path.write_text(
        f"""
store: {{sqlite_path: {tmp_path / "keys.db"}}}
auto_providers: false
providers:
  mock: {{base_url: "http://127.0.0.1:1/v1"}}
proxies:
  - {{name: default}}
  - {{name: Support Bot, auth: [virtual_key]}}
"""
    )
    return path


def test_create_shows_the_secret_once_and_stores_the_key(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["keys", "--config", str(config), "create", "--proxy", "support-bot", "--name", "ci"]
    argv += ["--expires", "30d", "--rpm", "60", "--tpm", "1000", "--budget-usd", "5"]
    argv += ["--budget-period", "day", "--user", "ann", "--provider", "mock"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    token = out.split("key:", 1)[1].strip()
    parsed = credentials.parse(token)
    assert parsed is not None
    conn = connect(str(config.parent / "keys.db"), [keys.SCHEMA])
    stored = keys.get(conn, parsed.id)
    conn.close()
    assert stored is not None
    assert stored.proxy_id == "support-bot"
    assert stored.user_id == "ann"
    assert stored.providers == ("mock",)
    assert stored.limits == {"rpm": 60, "tpm": 1000, "budget_usd": 5.0, "budget_period": "day"}
    assert stored.expires_at is not None

    assert main(["keys", "--config", str(config), "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert parsed.secret not in listed
    assert orjson.loads(listed.splitlines()[0])["id"] == parsed.id
    assert main(["keys", "--config", str(config), "list"]) == 0
    assert "active" in capsys.readouterr().out

    assert main(["keys", "--config", str(config), "revoke", f"pal-{parsed.id}"]) == 0
    assert main(["keys", "--config", str(config), "list"]) == 0
    assert "revoked" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--proxy", "nope"], "no LLM proxy has the id 'nope'"),
        (["--proxy", "default", "--expires", "2001-01-01"], "the expiry lies in the past"),
        (["--proxy", "default", "--expires", "later"], "an expiry is a duration"),
        (["--proxy", "default", "--rpm", "0"], "`rpm` must be a whole number"),
        (["--proxy", "default", "--provider", "openai"], "no provider is named 'openai'"),
    ],
)
def test_create_refuses_bad_input_with_a_clear_message(
    config: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    assert main(["keys", "--config", str(config), "create", "--name", "x", *extra]) == 2
    captured = capsys.readouterr()
    assert says in captured.err
    assert "key:" not in captured.out


def test_revoking_an_unknown_key_fails(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "revoke", "--config", str(config), "000000000000"]) == 1
    assert "there is no key" in capsys.readouterr().err


def test_a_broken_config_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("identity: {failed_auth_limit: 0}")
    assert main(["keys", "--config", str(bad), "list"]) == 2
    assert "identity.failed_auth_limit" in capsys.readouterr().err


def test_an_unopenable_store_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"store: {{sqlite_path: {tmp_path / 'missing-dir' / 'x.db'}}}")
    assert main(["keys", "--config", str(cfg), "list"]) == 2
    assert "store.sqlite_path: cannot open" in capsys.readouterr().err
    assert main(["serve", "--config", str(cfg)]) == 2
    assert "store.sqlite_path: cannot open" in capsys.readouterr().err
