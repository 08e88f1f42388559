"""POST /oauth/token in process (the app with its lifespan and a real store): the edge cases
of RFC 6749 client authentication. The happy path through Granian: tests/e2e/test_identity.py."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from palisade.app import create_app
from palisade.config import AdminConfig, Config, IdentityConfig, ProxyConfig, StoreConfig

ADMIN = {"authorization": "Bearer adm"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    config = Config(
        proxies=(ProxyConfig(id="apps", name="apps", auth=("oauth",)),),
        default_proxy=None,
        store=StoreConfig(sqlite_path=str(tmp_path / "t.db")),
        admin=AdminConfig(token="adm"),
        identity=IdentityConfig(failed_auth_limit=2),
    )
    with TestClient(create_app(config)) as client:
        yield client


def new_client(app: TestClient) -> tuple[str, str]:
    made = app.post("/admin/v1/clients", json={"proxy": "apps", "name": "c"}, headers=ADMIN)
    assert made.status_code == 201
    return made.json()["client_id"], made.json()["client_secret"]


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_form_encoding_is_required(app: TestClient) -> None:
    answer = app.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.json()["error_description"].startswith("Palisade: ")


def test_repeated_parameters_and_two_ways_of_client_auth_are_refused(app: TestClient) -> None:
    client_id, secret = new_client(app)
    twice = app.post(
        "/oauth/token",
        content="grant_type=client_credentials&grant_type=client_credentials",
        headers=FORM,
    )
    assert twice.json()["error"] == "invalid_request"
    both = app.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id},
        headers=basic(client_id, secret),
    )
    assert both.json()["error"] == "invalid_request"


def test_a_wrong_basic_secret_gets_401_with_a_basic_challenge_then_slow_down(
    app: TestClient,
) -> None:
    client_id, secret = new_client(app)
    for _ in range(2):
        answer = app.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client_id, "wrong"),
        )
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"
        assert answer.headers["www-authenticate"].startswith("Basic")
    throttled = app.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client_id, secret),
    )
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "slow_down"
    assert int(throttled.headers["retry-after"]) > 0


def test_a_revoked_client_gets_no_token(app: TestClient) -> None:
    client_id, secret = new_client(app)
    assert app.delete(f"/admin/v1/clients/{client_id}", headers=ADMIN).status_code == 200
    answer = app.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_the_token_works_on_its_proxy(app: TestClient) -> None:
    client_id, secret = new_client(app)
    answer = app.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )
    assert answer.status_code == 200
    token = answer.json()["access_token"]
    assert token.startswith("pat-")
    listing = app.get("/apps/models", headers={"authorization": f"Bearer {token[:-2]}xx"})
    assert listing.status_code == 401
    assert listing.json()["error"]["code"] == "invalid_token"
