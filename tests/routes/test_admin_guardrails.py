"""/admin/v1/guardrails in process (the app with its lifespan and a real store): validation,
errors, roles, versions. A changed guardrail changing calls across workers:
tests/e2e/test_admin_guardrails.py."""

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
    ProviderConfig,
    ProxyConfig,
    StoreConfig,
    parse_guardrail,
)
from tests.routes.admin_calls import ADMIN, VIEWER, refused

PII = parse_guardrail({"name": "pii", "type": "pii", "direction": "request"}, source="test")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    config = Config(
        providers=(ProviderConfig(name="mock", base_url="http://127.0.0.1:1/v1"),),
        guardrails={"pii": PII},
        proxies=(
            ProxyConfig(id="default", name="default"),
            ProxyConfig(id="guarded", name="guarded", guardrails=(PII,)),
        ),
        store=StoreConfig(sqlite_path=str(tmp_path / "t.db")),
        admin=AdminConfig(token="adm", viewer_token="view"),
    )
    with TestClient(create_app(config)) as client:
        yield client


RULES = {
    "name": "house",
    "type": "rules",
    "action": "block",
    "patterns": {"project": "PRJ-[0-9]{4}"},
    "keywords": {"codenames": ["bluebird"]},
}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "param", "says"),
    [
        ("POST", "", {"name": "x", "type": "pii", "action": "nope"}, 400, None, "action", "one of"),
        ("POST", "", {"name": "x", "type": "magic"}, 400, None, "type", "one of pii"),
        ("POST", "", {"name": "x"}, 400, None, "type", "is required"),
        ("POST", "", {"name": "x", "type": "pii", "color": 1}, 400, None, "color", "unknown key"),
        (
            "POST",
            "",
            {"name": "x", "type": "pii", "entities": ["zz"]},
            400,
            None,
            "entities[0]",
            "zz",
        ),
        (
            "POST",
            "",
            {"name": "x", "type": "rules", "patterns": {"a": "("}},
            400,
            None,
            None,
            "regular",
        ),
        (
            "POST",
            "",
            {"name": "x", "type": "tool_policies", "rules": [{"tool": "t", "action": "maybe"}]},
            400,
            None,
            "rules[0].action",
            "one of allow",
        ),
        (
            "POST",
            "",
            {"name": "x", "type": "injection", "flag_threshold": 2},
            400,
            None,
            "flag_threshold",
            "between",
        ),
        ("POST", "", {"name": "a b", "type": "pii"}, 400, None, "name", "letters"),
        ("POST", "", {"name": "versions", "type": "pii"}, 400, None, "name", "versions"),
        ("POST", "", {"name": "pii", "type": "pii"}, 409, "guardrail_exists", None, "exists"),
        ("PUT", "/pii", {"name": "other", "type": "pii"}, 400, None, "name", "cannot change"),
        ("PUT", "/missing", {"type": "pii"}, 404, "guardrail_not_found", None, "missing"),
        ("DELETE", "/missing", None, 404, "guardrail_not_found", None, "missing"),
        ("GET", "/missing", None, 404, "guardrail_not_found", None, "missing"),
        ("DELETE", "/pii", None, 409, "guardrail_in_use", None, "`guarded`"),
        ("GET", "/versions/abc", None, 404, "version_not_found", None, "number"),
        ("POST", "/versions/77/rollback", None, 404, "version_not_found", None, "no version 77"),
    ],
)
def test_bad_calls_get_clear_errors(
    app: TestClient,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str | None,
    param: str | None,
    says: str,
) -> None:
    error = refused(app, method, f"/guardrails{path}", body, status)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == (code or "invalid_guardrail")
    assert error["param"] == param
    assert says in error["message"]


def test_a_guardrail_is_created_edited_rolled_back_and_deleted(app: TestClient) -> None:
    made = app.post("/admin/v1/guardrails", headers=ADMIN, json=RULES)
    assert made.status_code == 201, made.text
    assert made.json()["settings"]["rules"] == ["project", "codenames"]
    assert made.json()["version"] == 2
    edited = app.put(
        "/admin/v1/guardrails/house", headers=ADMIN, json={**made.json(), "action": "flag"}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["action"], edited.json()["version"]) == ("flag", 3)
    # A proxy may attach a guardrail made through the API (proxies validate against the store).
    proxy = app.post(
        "/admin/v1/proxies", headers=ADMIN, json={"name": "h", "guardrails": ["house"]}
    )
    assert proxy.status_code == 201, proxy.text
    assert app.get("/admin/v1/guardrails/house", headers=ADMIN).json()["proxies"] == ["h"]
    assert app.delete("/admin/v1/guardrails/house", headers=ADMIN).status_code == 409
    rolled = app.post("/admin/v1/guardrails/versions/2/rollback", headers=ADMIN)
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["action"] == "rollback to 2"
    assert app.get("/admin/v1/guardrails/house", headers=ADMIN).json()["action"] == "block"
    history = app.get("/admin/v1/guardrails/versions", headers=VIEWER).json()["data"]
    assert [(v["version"], v["who"], v["action"], v["guardrail"]) for v in history] == [
        (4, "admin", "rollback to 2", None),
        (3, "admin", "update", "house"),
        (2, "admin", "create", "house"),
        (1, "palisade.yaml", "seed", None),
    ]
    assert app.delete("/admin/v1/proxies/h", headers=ADMIN).status_code == 200
    gone = app.delete("/admin/v1/guardrails/house", headers=ADMIN)
    assert gone.json() == {"deleted": "house", "version": 5}
    assert app.get("/admin/v1/guardrails/house", headers=ADMIN).status_code == 404


def test_the_viewer_reads_without_what_rules_look_for_and_cannot_write(app: TestClient) -> None:
    app.post("/admin/v1/guardrails", headers=ADMIN, json=RULES)
    for path in (
        "/admin/v1/guardrails",
        "/admin/v1/guardrails/house",
        "/admin/v1/guardrails/versions/2",
    ):
        seen = app.get(path, headers=VIEWER)
        assert seen.status_code == 200
        assert "house" in seen.text
        assert "bluebird" not in seen.text
        assert "PRJ-" not in seen.text
    assert "bluebird" in app.get("/admin/v1/guardrails/house", headers=ADMIN).text
    for method, path in [
        ("POST", "/admin/v1/guardrails"),
        ("PUT", "/admin/v1/guardrails/pii"),
        ("DELETE", "/admin/v1/guardrails/pii"),
        ("POST", "/admin/v1/guardrails/versions/1/rollback"),
    ]:
        refused = app.request(method, path, headers=VIEWER, json={"name": "v", "type": "pii"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "admin_role_required"
    listed = app.get("/admin/v1/guardrails", headers=VIEWER).json()
    assert [g["name"] for g in listed["data"]] == ["pii", "house"]
    assert listed["data"][0]["proxies"] == ["guarded"]
    # The shape the proxy form reads (backward compatible).
    assert listed["data"][0]["settings"]["action"] == "redact"
