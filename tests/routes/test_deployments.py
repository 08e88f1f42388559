"""`/ready` and `GET /admin/v1/deployments` in process (the app with its lifespan): readiness
fails only when a configured model has no deployment left, the admin view needs a token.
Through real Granian, with probes and breakers at work: tests/e2e/test_router_probes.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import parse_config
from palisade.gateway import Gateway


def config(tmp: Path, **admin: str) -> dict[str, Any]:
    return {
        "auto_providers": False,
        "store": {"sqlite_path": str(tmp / "t.db")},
        "admin": admin,
        "providers": {
            "a": {"base_url": "http://127.0.0.1:1/v1"},
            "b": {"base_url": "https://b.example/v1"},
        },
        "models": {
            "m": {"deployments": [{"provider": "a"}, {"provider": "b", "rpm": 60}]},
            "n": {"deployments": [{"provider": "a", "model": "m"}]},
        },
        # No probe fires during the test.
        "routing": {"probes": {"interval_s": 3600}},
    }


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    raw = config(tmp_path, token="adm", viewer_token="view")
    with TestClient(create_app(parse_config(raw, source="test", env={}))) as client:
        yield client


def test_ready_reports_deployments_and_fails_only_when_a_model_has_none_left(
    app: TestClient,
) -> None:
    ready = app.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"] == {"upstream_pool": "ok", "sqlite": "ok", "models": "ok"}
    assert body["deployments"] == {
        "a:m": {"breaker": "closed", "last_probe": None},
        "b:m": {"breaker": "closed", "last_probe": None},
    }
    gw: Gateway = app.app.state.gateway  # type: ignore[attr-defined]
    a = gw.routing.deployments["a:m"].breaker
    assert a is not None
    for _ in range(5):
        a.failure(time.time())
    # `m` still has `b`, but `n` has only `a`.
    ready = app.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    assert ready.json()["checks"]["models"] == ("a model under `models` has no usable deployment")
    assert ready.json()["deployments"]["a:m"]["breaker"] == "open"
    a.open_until = time.time() - 1  # cooled down: the next call is the trial
    assert app.get("/ready").status_code == 200


def test_deployments_view_for_the_viewer_role(app: TestClient) -> None:
    assert app.get("/admin/v1/deployments").status_code == 401
    answer = app.get("/admin/v1/deployments", headers={"authorization": "Bearer view"})
    assert answer.status_code == 200
    body = answer.json()
    assert [d["id"] for d in body["data"]] == ["a:m", "b:m"]
    a, b = body["data"]
    assert a["groups"] == ["m", "n"]
    # Loopback: probed by default; a public address: not (a probe may cost).
    assert (a["probe"], b["probe"]) == (True, False)
    assert (b["rpm"], b["minute_calls"], b["tpm"], b["minute_tokens"]) == (60, 0, None, 0)
    assert b["latency_ms"] is None
    assert b["success_ema"] == 1.0
    assert b["breaker"] == "closed"
    assert b["open_until"] is None
    assert b["blocked_until"] is None
    assert b["usable"] is True
    assert body["worker_pid"] == a["worker_pid"]


def test_deployments_view_is_off_without_admin_tokens(tmp_path: Path) -> None:
    raw = config(tmp_path)
    with TestClient(create_app(parse_config(raw, source="test", env={}))) as client:
        answer = client.get("/admin/v1/deployments", headers={"authorization": "Bearer x"})
        assert answer.status_code == 404
