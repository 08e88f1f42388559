"""/admin/v1/interactions and /admin/v1/stats in process: the console's filters (floors, status
classes), the live tail (`after_seq`), the dashboards' aggregates, and their validation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import AdminConfig, Config, ProviderConfig, ProxyConfig, StoreConfig
from palisade.store.interactions import Record
from tests.store.test_interactions import values, writer, written

VIEW = {"authorization": "Bearer view"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    db = tmp_path / "t.db"
    now = time.time()
    rows = [
        values(id="req_a", ts=now - 50, status=200, latency_ms=10.0, cost_usd=0.001,
               input_tokens=5, output_tokens=5, agent_id="a"),
        values(id="req_b", ts=now - 40, status=429, latency_ms=900.0, cost_usd=None,
               input_tokens=100, output_tokens=0, agent_id="b"),
        values(id="req_c", ts=now - 30, status=502, latency_ms=3000.0, cost_usd=0.5,
               input_tokens=1000, output_tokens=500, agent_id="a"),
    ]  # fmt: skip
    written(writer(db), [Record(v) for v in rows])
    config = Config(
        providers=(ProviderConfig(name="mock", base_url="http://127.0.0.1:1/v1"),),
        proxies=(ProxyConfig(id="default", name="default"),),
        store=StoreConfig(sqlite_path=str(db)),
        admin=AdminConfig(token="adm", viewer_token="view"),
    )
    with TestClient(create_app(config)) as client:
        yield client


def _ids(app: TestClient, query: str) -> list[str]:
    answer = app.get(f"/admin/v1/interactions?{query}", headers=VIEW)
    assert answer.status_code == 200, answer.text
    return [i["id"] for i in answer.json()["data"]]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("status=error", ["req_c", "req_b"]),
        ("status=4xx", ["req_b"]),
        ("status=2xx", ["req_a"]),
        ("status=502", ["req_c"]),
        ("min_latency_ms=900", ["req_c", "req_b"]),
        ("min_cost_usd=0.01", ["req_c"]),
        ("min_tokens=100", ["req_c", "req_b"]),
        ("agent_id=a&min_tokens=100", ["req_c"]),
    ],
)
def test_console_filters(app: TestClient, query: str, ids: list[str]) -> None:
    assert _ids(app, query) == ids


def test_the_live_tail_returns_what_came_after_oldest_first(app: TestClient) -> None:
    listing = app.get("/admin/v1/interactions", headers=VIEW).json()["data"]
    seq = {i["id"]: i["seq"] for i in listing}
    assert _ids(app, f"after_seq={seq['req_a']}") == ["req_b", "req_c"]
    assert _ids(app, f"after_seq={seq['req_a']}&agent_id=a") == ["req_c"]
    assert _ids(app, f"after_seq={seq['req_c']}") == []


def test_stats_for_the_dashboards(app: TestClient) -> None:
    answer = app.get("/admin/v1/stats?since=1h", headers=VIEW)
    assert answer.status_code == 200
    stats = answer.json()
    assert stats["step"] == 60
    assert sum(stats["series"]["requests"]) == 3
    assert sum(stats["series"]["errors"]) == 2
    assert [a["agent_id"] for a in stats["top_agents"]] == ["a", "b"]
    assert sorted(stats["by"]["agent_id"]["keys"]) == ["a", "b"]
    other = app.get("/admin/v1/stats?since=1h&proxy=nope", headers=VIEW).json()
    assert sum(other["series"]["requests"]) == 0


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/interactions?status=3yz", "status"),
        ("/interactions?min_latency_ms=-1", "min_latency_ms"),
        ("/interactions?min_cost_usd=nan", "min_cost_usd"),
        ("/interactions?after_seq=x", "after_seq"),
        ("/stats?since=yesterday", "since"),
        ("/stats?since=1h&until=2h", "since"),
        ("/stats?color=red", "color"),
    ],
)
def test_bad_parameters_are_named(app: TestClient, path: str, param: str) -> None:
    answer = app.get(f"/admin/v1{path}", headers=VIEW)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_stats_need_a_token(app: TestClient) -> None:
    assert app.get("/admin/v1/stats").status_code == 401
