"""`/metrics` behind a token or on its own port, and the ids on every answer, in process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client import values as prometheus_values
from starlette.requests import Request
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import parse_config
from palisade.routes import ops
from palisade.telemetry import metrics_port
from palisade.telemetry.metrics_port import bearer_matches
from tests.helpers.servers import free_port

TOKEN = "metrics-token-" + "x" * 20


def app_client(tmp_path: Path, **sections: Any) -> TestClient:
    raw: dict[str, Any] = {
        "store": {"sqlite_path": str(tmp_path / "palisade.db")},
        "auto_providers": False,
        "providers": {"mock": {"base_url": "http://127.0.0.1:9/v1", "models": ["mock-*"]}},
        **sections,
    }
    return TestClient(
        create_app(parse_config(raw, source="test", env={})), raise_server_exceptions=False
    )


def test_bearer_matches_only_the_token() -> None:
    assert bearer_matches(f"Bearer {TOKEN}", TOKEN)
    assert bearer_matches(f"bearer {TOKEN}", TOKEN)
    assert not bearer_matches(f"Bearer {TOKEN}x", TOKEN)
    assert not bearer_matches(f"Basic {TOKEN}", TOKEN)
    assert not bearer_matches(TOKEN, TOKEN)
    assert not bearer_matches(None, TOKEN)
    assert not bearer_matches("Bearer ", TOKEN)


def test_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    with app_client(tmp_path, metrics={"token": TOKEN}) as client:
        for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": TOKEN}):
            answer = client.get("/metrics", headers=headers)
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "metrics_unauthorized"
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in answer.text
        answer = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert "palisade_interactions_written" in answer.text


def test_metrics_without_token_stay_open(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        assert client.get("/metrics").status_code == 200


def test_with_metrics_port_the_public_port_has_no_metrics(tmp_path: Path) -> None:
    with app_client(tmp_path, metrics={"port": free_port()}) as client:
        answer = client.get("/metrics")
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "metrics_disabled"


@pytest.fixture
def multiproc_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "metrics"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    return directory


def test_metrics_port_serves_the_multiprocess_values_behind_the_token(
    multiproc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker's values file, as a worker process writes it.
    value_class = prometheus_values.MultiProcessValue()  # type: ignore[no-untyped-call]
    monkeypatch.setattr(prometheus_values, "ValueClass", value_class)
    counter = Counter("llm_requests", "test", ["proxy"], registry=CollectorRegistry())
    counter.labels("p").inc(3)
    assert list(multiproc_dir.iterdir())
    port = free_port()
    stop = metrics_port.start("127.0.0.1", port, TOKEN)
    try:
        url = f"http://127.0.0.1:{port}"
        denied = httpx.get(f"{url}/metrics")
        assert denied.status_code == 401
        assert denied.headers["x-request-id"].startswith("req_")
        assert httpx.get(f"{url}/metrics", headers={"authorization": "Bearer x"}).status_code == 401
        answer = httpx.get(f"{url}/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert 'llm_requests_total{proxy="p"} 3.0' in answer.text
        assert answer.headers["x-palisade-request-id"].startswith("req_")
        assert httpx.get(f"{url}/other").status_code == 404
    finally:
        stop()


def test_an_unexpected_error_outside_the_hot_routes_has_the_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(request: Request) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(ops, "health", broken)
    with app_client(tmp_path) as client:
        answer = client.get("/health")
        assert answer.status_code == 500
        assert answer.headers["x-request-id"].startswith("req_")
        assert answer.headers["x-palisade-request-id"] == answer.headers["x-request-id"]
