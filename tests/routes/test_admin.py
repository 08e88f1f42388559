"""/admin/v1/ in process (the app with its lifespan and a real store): validation and errors.
Proxies, versions and keys across two workers: tests/e2e/test_identity.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import AdminConfig, Config, ProviderConfig, ProxyConfig, StoreConfig
from tests.routes.admin_calls import ADMIN, refused


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    config = Config(
        providers=(ProviderConfig(name="mock", base_url="http://127.0.0.1:1/v1"),),
        proxies=(ProxyConfig(id="default", name="default"),),
        store=StoreConfig(sqlite_path=str(tmp_path / "t.db")),
        admin=AdminConfig(token="adm", viewer_token="view"),
    )
    with TestClient(create_app(config)) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "says"),
    [
        ("POST", "/proxies", b"[1]", 400, "invalid_json", "JSON object"),
        ("POST", "/proxies", {"name": "x", "auth": ["pw"]}, 400, "invalid_proxy", "auth[0]"),
        ("POST", "/proxies", {"name": "x", "providers": ["nope"]}, 400, "invalid_proxy", "nope"),
        ("POST", "/proxies", {"name": "x", "guardrails": ["g"]}, 400, "invalid_proxy", "'g'"),
        ("PUT", "/proxies/default", {"name": "d", "id": "other"}, 400, "invalid_proxy", "id"),
        ("PUT", "/proxies/missing", {"name": "m"}, 409, "conflict", "no proxy"),
        ("DELETE", "/proxies/missing", None, 409, "conflict", "no proxy"),
        ("GET", "/proxies/missing", None, 404, "proxy_not_found", "missing"),
        ("GET", "/versions?limit=0", None, 400, "invalid_request", "limit"),
        ("GET", "/versions/abc", None, 404, "version_not_found", "number"),
        ("POST", "/versions/77/rollback", None, 409, "conflict", "no version 77"),
        ("POST", "/keys", {"proxy": "default"}, 400, "invalid_request", "`name`"),
        ("POST", "/keys", {"proxy": "zz", "name": "k"}, 400, "proxy_not_found", "zz"),
        ("POST", "/keys", {"proxy": "default", "name": "k", "color": 1}, 400, None, "color"),
        (
            "POST",
            "/keys",
            {"proxy": "default", "name": "k", "providers": ["openai"]},
            400,
            None,
            "providers",
        ),
        (
            "POST",
            "/keys",
            {"proxy": "default", "name": "k", "expires": "2001-01-01"},
            400,
            "invalid_key_request",
            "past",
        ),
        ("GET", "/keys/000000000000", None, 404, "key_not_found", "no key"),
        ("DELETE", "/keys/000000000000", None, 404, "key_not_found", "no key"),
        ("DELETE", "/clients/cli_x", None, 404, "client_not_found", "no client"),
        ("POST", "/clients", {"proxy": "nope", "name": "c"}, 400, "proxy_not_found", "nope"),
    ],
)
def test_bad_admin_calls_get_clear_errors(
    app: TestClient,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str | None,
    says: str,
) -> None:
    err = refused(app, method, path, body, status)
    if code is not None:
        assert err["code"] == code
    assert says in err["message"]


def test_the_seeded_proxy_and_its_version(app: TestClient) -> None:
    listed = app.get("/admin/v1/proxies", headers={"authorization": "Bearer view"}).json()
    assert listed["version"] == 1
    assert [(p["id"], p["version"], p["served"]) for p in listed["data"]] == [("default", 1, True)]
    versions = app.get("/admin/v1/versions", headers=ADMIN).json()["data"]
    assert [(v["version"], v["who"], v["action"]) for v in versions] == [
        (1, "palisade.yaml", "seed")
    ]


def test_an_updated_proxy_is_served_at_once_by_this_worker(app: TestClient) -> None:
    made = app.post(
        "/admin/v1/proxies", json={"name": "Blue", "auth": ["virtual_key"]}, headers=ADMIN
    )
    assert made.status_code == 201
    assert app.post("/blue/chat/completions", json={"model": "m"}).status_code == 401
    changed = app.put("/admin/v1/proxies/blue", json={"name": "Blue"}, headers=ADMIN)
    assert changed.status_code == 200
    assert changed.json()["auth"] == []
    assert changed.json()["version"] == 3
    # Open now: the request passes identity and fails later, at routing (no such model).
    answer = app.post("/blue/chat/completions", json={"model": "m", "messages": []})
    assert answer.json()["error"]["code"] == "model_not_found"
