"""The console in process (the app with its lifespan and a real store): the page and its files,
sign-in, the session cookie on the admin API, CSRF on writes, the viewer's read-only role."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import AdminConfig, Config, ProviderConfig, ProxyConfig, StoreConfig
from palisade.config.guardrails import ScanGuardrail
from palisade.console import session as sessions

ADMIN_TOKEN = "adm-token-for-console-tests"
VIEWER_TOKEN = "view-token-for-console-tests"


def _config(tmp_path: Path, admin: AdminConfig) -> Config:
    return Config(
        providers=(ProviderConfig(name="mock", base_url="http://127.0.0.1:1/v1"),),
        proxies=(ProxyConfig(id="default", name="default"),),
        store=StoreConfig(sqlite_path=str(tmp_path / "t.db")),
        admin=admin,
    )


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    config = _config(tmp_path, AdminConfig(token=ADMIN_TOKEN, viewer_token=VIEWER_TOKEN))
    with TestClient(create_app(config)) as client:
        yield client


def _sign_in(app: TestClient, token: str) -> str:
    answer = app.post("/console/session", json={"token": token})
    assert answer.status_code == 200, answer.text
    csrf: str = answer.json()["csrf"]
    return csrf


def test_the_page_and_its_files_carry_a_strict_policy(app: TestClient) -> None:
    assert app.get("/console", follow_redirects=False).headers["location"] == "/console/"
    page = app.get("/console/")
    assert page.status_code == 200
    assert '<script type="module" src="/console/static/app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        asset = app.get(f"/console/static/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(kind)
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert app.get("/console/static/nope.js").status_code == 404
    assert app.get("/console/static/..%2Fsession.py").status_code == 404


def test_no_file_renders_data_as_html(app: TestClient) -> None:
    static = Path(sessions.__file__).parent / "static"
    for path in static.glob("*.js"):
        text = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{path.name} uses {sink}"
    assert "<script>" not in (static / "index.html").read_text()  # no inline script


def test_sign_in_sets_a_session_cookie_that_is_not_the_token(app: TestClient) -> None:
    answer = app.post("/console/session", json={"token": ADMIN_TOKEN})
    assert answer.status_code == 200
    assert answer.json()["role"] == "admin"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http here
    assert ADMIN_TOKEN not in cookie
    assert app.get("/console/session").json()["role"] == "admin"
    assert app.get("/admin/v1/proxies").status_code == 200  # the cookie opens the admin API


def test_the_cookie_is_secure_over_https(app: TestClient) -> None:
    answer = app.post(
        "/console/session", json={"token": ADMIN_TOKEN}, headers={"x-forwarded-proto": "https"}
    )
    assert "; Secure" in answer.headers["set-cookie"]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"token": "wrong"}}, 401),
        ({"json": {"token": 5}}, 400),
        ({"data": {"token": ADMIN_TOKEN}}, 415),  # a form: what a cross-site page could send
    ],
)
def test_bad_sign_ins_are_refused(app: TestClient, kwargs: dict[str, object], status: int) -> None:
    answer = app.post("/console/session", **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == status
    assert "set-cookie" not in answer.headers
    assert app.get("/console/session").status_code == 401


def test_a_write_needs_the_csrf_token(app: TestClient) -> None:
    csrf = _sign_in(app, ADMIN_TOKEN)
    body = {"name": "Made In Console"}
    refused = app.post("/admin/v1/proxies", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_token_invalid"
    wrong = app.post("/admin/v1/proxies", json=body, headers={sessions.CSRF_HEADER: "x" + csrf})
    assert wrong.status_code == 403
    made = app.post("/admin/v1/proxies", json=body, headers={sessions.CSRF_HEADER: csrf})
    assert made.status_code == 201
    assert made.json()["id"] == "made-in-console"


def test_the_viewer_reads_but_cannot_write(app: TestClient) -> None:
    csrf = _sign_in(app, VIEWER_TOKEN)
    assert app.get("/console/session").json()["role"] == "viewer"
    assert app.get("/admin/v1/interactions").status_code == 200
    assert app.get("/admin/v1/stats").status_code == 200
    answer = app.post("/admin/v1/proxies", json={"name": "x"}, headers={sessions.CSRF_HEADER: csrf})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "admin_role_required"


def test_bearer_tokens_still_work_beside_the_cookie(app: TestClient) -> None:
    _sign_in(app, VIEWER_TOKEN)
    # The CLI's way: a bearer token wins over any cookie, and needs no CSRF token.
    made = app.post(
        "/admin/v1/proxies",
        json={"name": "cli"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert made.status_code == 201


def test_sign_out_clears_the_cookie(app: TestClient) -> None:
    csrf = _sign_in(app, ADMIN_TOKEN)
    assert app.delete("/console/session").status_code == 403  # without its CSRF token
    out = app.delete("/console/session", headers={sessions.CSRF_HEADER: csrf})
    assert out.status_code == 200
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert app.get("/console/session").status_code == 401


def test_forged_or_expired_sessions_are_refused() -> None:
    admin = AdminConfig(token=ADMIN_TOKEN, viewer_token=VIEWER_TOKEN)
    value, session = sessions.issue(admin, "viewer", now=1000.0)
    assert sessions.read(admin, value, now=1001.0) == session
    assert sessions.read(admin, value, now=1000.0 + sessions.TTL_S) is None  # expired
    role, expires, nonce, mac = value.split(".")
    assert sessions.read(admin, f"admin.{expires}.{nonce}.{mac}", now=1001.0) is None
    assert sessions.read(admin, f"{role}.{int(expires) + 9}.{nonce}.{mac}", now=1001.0) is None
    # A new token signs every session of its role out.
    rotated = AdminConfig(token=ADMIN_TOKEN, viewer_token=VIEWER_TOKEN + "2")
    assert sessions.read(rotated, value, now=1001.0) is None


def test_the_console_is_off_without_admin_tokens(tmp_path: Path) -> None:
    with TestClient(create_app(_config(tmp_path, AdminConfig()))) as client:
        assert client.get("/console/").status_code == 404
        assert client.post("/console/session", json={"token": "x"}).status_code == 404


def test_guardrails_are_listed_without_what_they_look_for(tmp_path: Path) -> None:
    rules = ScanGuardrail(
        name="house-rules",
        type="rules",
        direction="both",
        action="redact",
        patterns=(("project_code", "PRJ-[0-9]{4}"),),
        keywords=(("codenames", ("bluebird",)),),
    )
    config = dataclasses.replace(
        _config(tmp_path, AdminConfig(token=ADMIN_TOKEN, viewer_token=VIEWER_TOKEN)),
        guardrails={"house-rules": rules},
    )
    with TestClient(create_app(config)) as client:
        answer = client.get(
            "/admin/v1/guardrails", headers={"authorization": f"Bearer {VIEWER_TOKEN}"}
        )
    assert answer.status_code == 200
    (found,) = answer.json()["data"]
    assert found["name"] == "house-rules"
    assert found["settings"]["rules"] == ["project_code", "codenames"]
    assert "bluebird" not in answer.text
    assert "PRJ-" not in answer.text


def test_guessing_the_token_is_braked(app: TestClient) -> None:
    limit = Config().identity.failed_auth_limit
    for _ in range(limit):
        assert app.post("/console/session", json={"token": "guess"}).status_code == 401
    refused = app.post("/console/session", json={"token": ADMIN_TOKEN})
    assert refused.status_code == 429
    assert "retry-after" in refused.headers
