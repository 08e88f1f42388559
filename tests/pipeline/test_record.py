"""The record stage in-process (Starlette's TestClient), against the real mock provider."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import parse_config
from palisade.store.interactions import Filters, list_interactions

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello."}]}


def app_client(mock_port: int, db: Path, **sections: Any) -> TestClient:
    raw: dict[str, Any] = {
        "auto_providers": False,
        "store": {"sqlite_path": str(db)},
        "providers": {
            "mock": {
                "base_url": f"http://127.0.0.1:{mock_port}/v1",
                "api_key": "mock-key",
                "models": ["gpt-*"],
            }
        },
        **sections,
    }
    return TestClient(create_app(parse_config(raw, source="test", env={})))


def records(client: TestClient, db: Path) -> list[dict[str, Any]]:
    recording = client.app.state.gateway.recording  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while recording.pending and time.monotonic() < deadline:  # the batch not recorded yet
        time.sleep(0.005)
    writer = recording.writer
    assert writer.flush()
    writer.stop()  # writes what it holds and closes: the rows are in
    return list_interactions(str(db), Filters())[0]


def test_an_unexpected_error_is_a_logged_500_and_still_recorded(
    mock_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug in a stage")

    monkeypatch.setattr("palisade.pipeline.run.check_messages", broken)
    db = tmp_path / "p.db"
    with app_client(mock_port, db) as client, caplog.at_level(logging.ERROR, "palisade"):
        answer = client.post("/v1/chat/completions", json=CHAT)
        assert answer.status_code == 500
        assert answer.json()["error"]["code"] == "internal_error"
        assert "a bug in a stage" not in answer.text
        [item] = records(client, db)
    assert (item["status"], item["error_code"]) == (500, "internal_error")
    assert "a bug in a stage" in caplog.text  # the traceback is logged


def test_a_failing_record_is_counted_and_never_reaches_the_client(
    mock_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("accounting bug")

    monkeypatch.setattr("palisade.pipeline.record.account", broken)
    before = REGISTRY.get_sample_value(
        "palisade_interactions_dropped_total", {"reason": "record_error"}
    )
    with app_client(mock_port, tmp_path / "p.db") as client:
        answer = client.post("/v1/chat/completions", json=CHAT)
        assert answer.status_code == 200
        assert answer.json()["choices"][0]["message"]["content"]
    after = REGISTRY.get_sample_value(
        "palisade_interactions_dropped_total", {"reason": "record_error"}
    )
    assert (after or 0) - (before or 0) == 1


def test_with_everything_off_nothing_is_recorded(mock_port: int, tmp_path: Path) -> None:
    db = tmp_path / "off.db"
    sections = {"logging": {"enabled": False}, "metrics": {"enabled": False}}
    with app_client(mock_port, db, **sections) as client:
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        recording = client.app.state.gateway.recording  # type: ignore[attr-defined]
        assert not recording.active
        metrics = client.get("/metrics")
        assert metrics.status_code == 404
        assert metrics.json()["error"]["code"] == "metrics_disabled"
    # The store itself exists (keys and proxies live there); the interaction log does not.
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "interactions" not in tables
