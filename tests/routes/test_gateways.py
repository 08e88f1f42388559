"""Deploy to gateway through /admin/v1/ in process (the app with its lifespan and a real store):
roles, errors, and what the answering worker serves right after each change. Two replicas and
the SDK through Granian: tests/e2e/test_gateways.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import (
    AdminConfig,
    Config,
    ConfigError,
    ProviderConfig,
    ProxyConfig,
    ServerConfig,
    StoreConfig,
    parse_config,
)
from tests.routes.admin_calls import ADMIN, VIEWER, refused


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    config = Config(
        server=ServerConfig(gateway="blue"),
        # Nothing listens there: a call the proxy lets through ends in a 502 from routing.
        providers=(
            ProviderConfig(name="mock", base_url="http://127.0.0.1:1/v1", models=("one", "two")),
        ),
        proxies=(ProxyConfig(id="default", name="default"),),
        store=StoreConfig(sqlite_path=str(tmp_path / "t.db")),
        admin=AdminConfig(token="adm", viewer_token="view"),
    )
    with TestClient(create_app(config)) as client:
        client.post("/admin/v1/proxies", json={"name": "P", "models": ["one"]}, headers=ADMIN)
        yield client


def call(app: TestClient, model: str, proxy: str = "p") -> dict[str, Any]:
    """The gateway's error for a chat call through `proxy`: `model_not_allowed` while the
    running version allows only `one`, `upstream_unreachable` once the call gets past it."""
    answer = app.post(
        f"/v1/openai/{proxy}/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert answer.status_code >= 400
    error: dict[str, Any] = answer.json()["error"]
    return error


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "says"),
    [
        ("GET", "/proxies/nope/deployments", None, 404, "proxy_not_found", "nope"),
        ("GET", "/proxies/nope/versions", None, 404, "proxy_not_found", "nope"),
        ("POST", "/proxies/nope/deployments", {"gateway": "blue"}, 404, "proxy_not_found", "nope"),
        ("DELETE", "/proxies/nope/deployments/blue", None, 404, "proxy_not_found", "nope"),
        ("POST", "/proxies/p/deployments", b"[1]", 400, "invalid_json", "JSON object"),
        ("POST", "/proxies/p/deployments", {}, 400, "invalid_request", "`gateway`"),
        ("POST", "/proxies/p/deployments", {"gateway": 3}, 400, "invalid_request", "`gateway`"),
        ("POST", "/proxies/p/deployments", {"gateway": "Blue!"}, 400, "invalid_gateway", "name"),
        (
            "POST",
            "/proxies/p/deployments",
            {"gateway": "blue", "version": "2"},
            400,
            "invalid_request",
            "`version`",
        ),
        (
            "POST",
            "/proxies/p/deployments",
            {"gateway": "blue", "version": True},
            400,
            "invalid_request",
            "`version`",
        ),
        (
            "POST",
            "/proxies/p/deployments",
            {"gateway": "blue", "version": 77},
            400,
            "unknown_version",
            "no version 77",
        ),
        ("POST", "/proxies/p/deployments", {"gateway": "b", "x": 1}, 400, None, "`x`"),
        ("POST", "/proxies/p/deployments/99/rollback", None, 404, "deployment_not_found", "99"),
        ("POST", "/proxies/p/deployments/x/rollback", None, 400, "invalid_request", "deploym"),
        ("GET", "/proxies/p/deployments?limit=0", None, 400, "invalid_request", "limit"),
        ("GET", "/proxies/p/deployments?before=x", None, 400, "invalid_request", "before"),
    ],
)
def test_bad_deployment_calls_get_clear_errors(
    app: TestClient, method: str, path: str, body: Any, status: int, code: str | None, says: str
) -> None:
    err = refused(app, method, path, body, status)
    if code is not None:
        assert err["code"] == code
    assert says in err["message"]


def test_viewers_read_and_only_admins_write(app: TestClient) -> None:
    for path in ("/gateways", "/proxies/p/deployments", "/proxies/p/versions"):
        assert app.get(f"/admin/v1{path}", headers=VIEWER).status_code == 200
        assert app.get(f"/admin/v1{path}").status_code == 401
    writes = [
        ("POST", "/proxies/p/deployments", {"gateway": "blue"}),
        ("DELETE", "/proxies/p/deployments/blue", None),
        ("POST", "/proxies/p/deployments/1/rollback", None),
    ]
    for method, path, body in writes:
        answer = app.request(method, f"/admin/v1{path}", json=body, headers=VIEWER)
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "admin_role_required"
    # Nothing was written.
    assert app.get("/admin/v1/proxies/p/deployments", headers=ADMIN).json()["data"] == []


def test_deploy_stop_and_roll_back_take_effect_on_this_worker_at_once(app: TestClient) -> None:
    # Never deployed: runs everywhere, version 2 (the file's seed is version 1).
    before = app.get("/admin/v1/proxies/p/deployments", headers=VIEWER).json()
    assert (before["everywhere"], before["latest_version"], before["gateways"]) == (True, 2, [])
    assert call(app, "two")["code"] == "model_not_allowed"

    # Deployed elsewhere only: this replica (gateway `blue`) refuses it, naming its gateway.
    elsewhere = app.post("/admin/v1/proxies/p/deployments", json={"gateway": "red"}, headers=ADMIN)
    assert elsewhere.status_code == 201
    refused = call(app, "two")
    assert refused["code"] == "proxy_not_deployed"
    assert "`blue`" in refused["message"]
    assert call(app, "two", proxy="default")["code"] == "upstream_unreachable"  # untouched

    first = app.post("/admin/v1/proxies/p/deployments", json={"gateway": "blue"}, headers=ADMIN)
    assert first.status_code == 201
    one = first.json()
    assert {k: one[k] for k in ("proxy", "gateway", "action", "version", "who", "status")} == {
        "proxy": "p",
        "gateway": "blue",
        "action": "deploy",
        "version": 2,
        "who": "admin",
        "status": "deployed",
    }
    assert (one["deployed"], one["latest"]) == (True, True)
    assert call(app, "two")["code"] == "model_not_allowed"

    # An edit changes nothing that runs until it is deployed.
    edited = app.put("/admin/v1/proxies/p", json={"name": "P", "models": ["two"]}, headers=ADMIN)
    assert edited.json()["version"] == 3
    assert call(app, "two")["code"] == "model_not_allowed"
    again = app.post("/admin/v1/proxies/p/deployments", json={"gateway": "blue"}, headers=ADMIN)
    assert again.json()["version"] == 3
    assert call(app, "two")["code"] == "upstream_unreachable"  # version 3 lets `two` through
    same = app.post("/admin/v1/proxies/p/deployments", json={"gateway": "blue"}, headers=ADMIN)
    assert (same.status_code, same.json()["error"]["code"]) == (409, "already_deployed")

    stopped = app.delete("/admin/v1/proxies/p/deployments/blue", headers=ADMIN)
    assert stopped.status_code == 200
    assert (stopped.json()["action"], stopped.json()["status"]) == ("stop", "stopped")
    assert call(app, "two")["code"] == "proxy_not_deployed"
    twice = app.delete("/admin/v1/proxies/p/deployments/blue", headers=ADMIN)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "not_deployed")
    no_roll = app.post(
        f"/admin/v1/proxies/p/deployments/{stopped.json()['id']}/rollback", headers=ADMIN
    )
    assert (no_roll.status_code, no_roll.json()["error"]["code"]) == (409, "nothing_to_roll_back")

    rolled = app.post(f"/admin/v1/proxies/p/deployments/{one['id']}/rollback", headers=ADMIN)
    assert rolled.status_code == 201
    assert (rolled.json()["action"], rolled.json()["version"]) == ("rollback", 2)
    assert rolled.json()["rollback_of"] == one["id"]
    assert (rolled.json()["latest"], rolled.json()["deployed"]) == (False, True)
    assert call(app, "two")["code"] == "model_not_allowed"  # version 2 again

    history = app.get("/admin/v1/proxies/p/deployments", headers=VIEWER).json()
    assert history["everywhere"] is False
    assert history["gateways"] == [
        {"gateway": "blue", "version": 2, "deployment": rolled.json()["id"]},
        {"gateway": "red", "version": 2, "deployment": elsewhere.json()["id"]},
    ]
    rows = [(r["action"], r["gateway"], r["status"], r["deployed"]) for r in history["data"]]
    assert rows == [
        ("rollback", "blue", "deployed", True),
        ("stop", "blue", "superseded", False),
        ("deploy", "blue", "superseded", False),
        ("deploy", "blue", "superseded", False),
        ("deploy", "red", "deployed", True),
    ]
    page = app.get("/admin/v1/proxies/p/deployments?limit=2", headers=VIEWER).json()
    assert (len(page["data"]), page["has_more"]) == (2, True)
    rest = app.get(
        f"/admin/v1/proxies/p/deployments?before={page['data'][-1]['id']}", headers=VIEWER
    ).json()
    assert [r["id"] for r in rest["data"]] == [r["id"] for r in history["data"][2:]]


def test_the_gateway_list_names_this_replica_and_every_gateway_deployed_to(
    app: TestClient,
) -> None:
    app.post("/admin/v1/proxies/p/deployments", json={"gateway": "red"}, headers=ADMIN)
    listing = app.get("/admin/v1/gateways", headers=VIEWER).json()
    assert listing["gateway"] == "blue"
    by_name = {g["name"]: g for g in listing["data"]}
    assert set(by_name) == {"blue", "red"}
    assert by_name["blue"]["live_replicas"] == 1
    assert by_name["red"]["replicas"] == []
    assert [p["proxy"] for p in by_name["blue"]["proxies"]] == ["default"]
    assert [(p["proxy"], p["everywhere"]) for p in by_name["red"]["proxies"]] == [
        ("default", True),
        ("p", False),
    ]
    versions = app.get("/admin/v1/proxies/p/versions", headers=VIEWER).json()
    assert [(v["version"], v["action"]) for v in versions["data"]] == [(2, "create")]


def test_a_version_that_no_longer_fits_the_config_is_refused(app: TestClient) -> None:
    """The proxy names a provider that a later config lacks: deploying it would serve
    nothing, so the deploy is refused (409) and nothing is written."""
    gw = app.app.state.gateway  # type: ignore[attr-defined]
    made = app.post(
        "/admin/v1/proxies", json={"name": "Q", "providers": ["mock"]}, headers=ADMIN
    ).json()
    gw.config = _without_providers(gw.config)
    answer = app.post(
        "/admin/v1/proxies/q/deployments",
        json={"gateway": "blue", "version": made["version"]},
        headers=ADMIN,
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "invalid_proxy")
    assert "no provider is named 'mock'" in answer.json()["error"]["message"]


def _without_providers(config: Config) -> Config:
    import dataclasses

    return dataclasses.replace(config, providers=())


def test_server_gateway_is_a_checked_config_key() -> None:
    base = {"auto_providers": False}
    ok = parse_config({**base, "server": {"gateway": "eu-1.prod"}}, source="f", env={})
    assert ok.server.gateway == "eu-1.prod"
    assert parse_config(base, source="f", env={}).server.gateway == "default"
    from_env = parse_config(
        {**base, "server": {"gateway": "${PALISADE_GATEWAY:-default}"}},
        source="f",
        env={"PALISADE_GATEWAY": "edge"},
    )
    assert from_env.server.gateway == "edge"
    with pytest.raises(ConfigError) as caught:
        parse_config({**base, "server": {"gateway": "Edge One"}}, source="f", env={})
    assert "server.gateway" in str(caught.value)
