"""Stage 2 through real Granian gateways with the openai SDK: every auth method, revocation
across two workers, proxies changed through the admin API, and no secret in the store or logs.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from palisade.identity import credentials
from palisade.store import keys as key_store
from palisade.store.sqlite import connect
from tests.e2e.identity_stack import (
    AUDIENCE,
    FAILED_AUTH_LIMIT,
    ISSUER,
    MOCK_KEY,
    VIEWER,
    IdentityStack,
    new_rsa,
    start_stack,
)
from tests.helpers.polling import until

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def ids(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityStack]:
    yield from start_stack(tmp_path_factory.mktemp("identity"))


def chat(client: openai.OpenAI, model: str = "mock-gpt") -> str:
    answer = client.chat.completions.create(model=model, messages=MESSAGES)
    return answer.choices[0].message.content or ""


def error(exc: openai.APIStatusError) -> dict[str, Any]:
    body: dict[str, Any] = exc.response.json()["error"]
    return body


def refused(client: openai.OpenAI) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as info:
        chat(client)
    return info.value


# -- virtual keys -------------------------------------------------------------------------


def test_a_virtual_key_calls_its_proxy_and_never_reaches_the_provider(ids: IdentityStack) -> None:
    _, token = ids.create_key("keys", "ci")
    httpx.delete(f"{ids.mock}/_mock/requests")
    with ids.client("keys", token) as client:
        assert chat(client)
    sent = ids.mock_requests()[-1]["headers"]
    assert sent["authorization"] == f"Bearer {MOCK_KEY}"
    assert token not in str(sent)


def test_a_proxy_with_auth_refuses_a_request_without_credentials(ids: IdentityStack) -> None:
    answer = httpx.post(
        f"{ids.gateway.url}/keys/chat/completions",
        json={"model": "mock-gpt", "messages": MESSAGES},
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "missing_credentials"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_model_listings_of_a_proxy_with_auth_need_a_credential(ids: IdentityStack) -> None:
    assert httpx.get(f"{ids.gateway.url}/keys/models").status_code == 401
    _, token = ids.create_key("keys", "lister")
    with ids.client("keys", token) as client:
        assert any(m.id == "gpt-4o" for m in client.models.list())
        assert client.models.retrieve("gpt-4o").id == "gpt-4o"


def test_a_wrong_secret_is_401_and_the_message_shows_nothing_of_it(ids: IdentityStack) -> None:
    key_id, token = ids.create_key("keys", "wrong-secret")
    forged = f"pal-{key_id}-{'A' * 43}"
    with ids.client("keys", forged) as client:
        exc = refused(client)
    assert isinstance(exc, openai.AuthenticationError)
    assert error(exc)["code"] == "invalid_api_key"
    assert "A" * 10 not in exc.response.text
    assert token not in exc.response.text


def test_an_expired_key_is_401_expired(ids: IdentityStack) -> None:
    conn = connect(str(ids.db), [key_store.SCHEMA])
    try:
        _, token = key_store.create(conn, proxy_id="keys", name="old", expires_at=time.time() - 60)
    finally:
        conn.close()
    ids.secrets.append(token)
    with ids.client("keys", token) as client:
        exc = refused(client)
    assert exc.status_code == 401
    assert error(exc)["code"] == "expired_api_key"
    assert "expired at" in error(exc)["message"]


def test_a_key_for_one_proxy_cannot_call_another(ids: IdentityStack) -> None:
    _, token = ids.create_key("keys", "scoped")
    with ids.client("other", token) as client:
        exc = refused(client)
    assert isinstance(exc, openai.PermissionDeniedError)
    assert error(exc)["code"] == "key_proxy_mismatch"
    # The open default proxy does not check keys at all; a key-only proxy never forwards one.
    with ids.client("byok", token) as client:
        exc = refused(client)
    assert error(exc)["code"] == "auth_method_not_accepted"
    assert all(token not in str(r["headers"]) for r in ids.mock_requests())


def test_key_limits_on_providers_and_models(ids: IdentityStack) -> None:
    _, token = ids.create_key("narrow", "narrow", "--provider", "mock")
    with ids.client("narrow", token) as client:
        assert chat(client, "gpt-4o-mini")
        with pytest.raises(openai.PermissionDeniedError) as info:
            chat(client, "gpt-5")
        assert error(info.value)["code"] == "model_not_allowed"
        with pytest.raises(openai.PermissionDeniedError) as info:
            chat(client, "spare:gpt-4o")
        assert error(info.value)["code"] == "provider_not_allowed"
    _, spare_only = ids.create_key("keys", "spare", "--provider", "spare")
    with ids.client("keys", spare_only) as client:
        assert chat(client, "spare:gpt-4o")
        with pytest.raises(openai.PermissionDeniedError) as info:
            chat(client, "mock-gpt")
        assert "this API key may not use the provider `mock`" in error(info.value)["message"]


def burst(ids: IdentityStack, proxy: str, token: str, n: int = 16) -> list[str | None]:
    """`n` requests at once, each on its own connection, so that both workers get some (the
    JWKS test below shows they do); the error code of each, None for a success."""

    def one(_: int) -> str | None:
        with ids.client(proxy, token) as client:
            try:
                chat(client)
            except openai.APIStatusError as exc:
                return str(error(exc)["code"])
        return None

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def test_a_revoked_key_is_refused_on_every_worker_within_5_seconds(ids: IdentityStack) -> None:
    key_id, token = ids.create_key("keys", "to-revoke")
    for _ in range(2):  # both workers serve and cache it
        assert burst(ids, "keys", token) == [None] * 16
    done = ids.keys_cli("revoke", key_id)
    assert done.returncode == 0, done.stderr
    took = until(
        lambda: burst(ids, "keys", token) == ["revoked_api_key"] * 16,
        10,
        "the revoked key refused by every request of a burst",
    )
    assert took < 5.0
    listed = ids.keys_cli("list", "--json").stdout
    parsed = credentials.parse(token)
    assert parsed is not None
    assert key_id in listed
    assert parsed.secret not in listed


def test_the_admin_api_makes_lists_and_revokes_keys(ids: IdentityStack) -> None:
    made = ids.admin(
        "POST",
        "/keys",
        # rpm high enough that the polls waiting for the revocation below never reach it.
        json={"proxy": "keys", "name": "admin-made", "rpm": 600, "budget_usd": 2.5, "user": "ann"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    ids.secrets.append(body["key"])
    assert body["limits"] == {"rpm": 600, "budget_usd": 2.5, "budget_period": "month"}
    with ids.client("keys", body["key"]) as client:
        assert chat(client)
    listed = ids.admin("GET", "/keys?proxy=keys", token=VIEWER)
    assert listed.status_code == 200
    assert body["id"] in listed.text
    assert body["key"] not in listed.text
    assert "key" not in listed.json()["data"][0]
    assert ids.admin("POST", "/keys", token=VIEWER, json={}).status_code == 403
    assert ids.admin("GET", "/keys", token="nope").status_code == 401
    bad = ids.admin("POST", "/keys", json={"proxy": "keys", "name": "x", "rpm": -1})
    assert bad.status_code == 400
    assert "rpm" in bad.json()["error"]["message"]
    assert ids.admin("DELETE", f"/keys/{body['id']}").json()["revoked_at"] is not None
    with ids.client("keys", body["key"]) as client:
        until(lambda: _refused_n(client, 10), 5, "the key revoked through the admin API")


def _jwks_fetches(ids: IdentityStack) -> int:
    stats = httpx.get(f"{ids.mock}/_mock/stats").json()["requests"]
    return int(stats.get("/_mock/jwks.json", 0))


def _refused_n(client: openai.OpenAI, n: int) -> bool:
    for _ in range(n):
        try:
            chat(client)
            return False
        except openai.AuthenticationError:
            pass
    return True


# -- provider keys -------------------------------------------------------------------------


def test_a_provider_key_is_forwarded_unchanged(ids: IdentityStack) -> None:
    own = "sk-client-own-provider-key-9f8e7d"
    ids.secrets.append(own)
    httpx.delete(f"{ids.mock}/_mock/requests")
    with ids.client("byok", own) as client:
        assert chat(client)
    assert ids.mock_requests()[-1]["headers"]["authorization"] == f"Bearer {own}"
    # Where passthrough is not allowed, the client's key never leaves the gateway.
    with ids.client("default", own) as client:
        assert chat(client)
    assert ids.mock_requests()[-1]["headers"]["authorization"] == f"Bearer {MOCK_KEY}"


def test_an_anthropic_key_is_forwarded_unchanged_as_x_api_key(ids: IdentityStack) -> None:
    own = "sk-ant-client-own-key-5c4b3a"
    ids.secrets.append(own)
    httpx.delete(f"{ids.mock}/_mock/requests")
    for header in ({"x-api-key": own}, {"authorization": f"Bearer {own}"}):
        answer = httpx.post(
            f"{ids.gateway.url}/v1/anthropic/byok/v1/messages",
            json={"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [USER_HI]},
            headers={**header, "anthropic-version": "2023-06-01"},
        )
        assert answer.status_code == 200, answer.text
        seen = ids.mock_requests()[-1]["headers"]
        assert seen["x-api-key"] == own
        assert "authorization" not in seen


GEMINI_HI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_a_virtual_key_in_gemini_s_query_parameter(ids: IdentityStack) -> None:
    _, token = ids.create_key("keys", "gemini-query")
    httpx.delete(f"{ids.mock}/_mock/requests")
    url = f"{ids.gateway.url}/v1/gemini/keys/v1beta/models/gemini-2.5-flash:generateContent"
    answer = httpx.post(f"{url}?key={token}", json=GEMINI_HI)
    assert answer.status_code == 200, answer.text
    seen = ids.mock_requests()[-1]
    assert seen["headers"]["x-goog-api-key"] == MOCK_KEY
    assert token not in str(seen)
    # The same key in the header; none at all is Gemini's 401.
    assert httpx.post(url, json=GEMINI_HI, headers={"x-goog-api-key": token}).status_code == 200
    refused = httpx.post(url, json=GEMINI_HI)
    assert refused.status_code == 401
    assert refused.json()["error"]["status"] == "UNAUTHENTICATED"


def test_a_gemini_key_is_forwarded_unchanged_as_x_goog_api_key(ids: IdentityStack) -> None:
    own = "AIzaSy-client-own-gemini-key-1a2b3c"
    ids.secrets.append(own)
    httpx.delete(f"{ids.mock}/_mock/requests")
    url = f"{ids.gateway.url}/v1/gemini/byok/v1beta/models/gemini-2.5-flash:generateContent"
    for answer in (
        httpx.post(url, json=GEMINI_HI, headers={"x-goog-api-key": own}),
        httpx.post(f"{url}?key={own}", json=GEMINI_HI),
    ):
        assert answer.status_code == 200, answer.text
        seen = ids.mock_requests()[-1]
        assert seen["headers"]["x-goog-api-key"] == own
        assert seen["query"] == ""


def test_an_oauth_token_on_the_anthropic_route(ids: IdentityStack) -> None:
    client_id, secret = _new_client(ids)
    token = _token(ids, grant_type="client_credentials", client_id=client_id, client_secret=secret)
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    ids.secrets.append(access)

    def call(key: str) -> httpx.Response:
        return httpx.post(
            f"{ids.gateway.url}/v1/anthropic/apps/v1/messages",
            json={"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [USER_HI]},
            headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        )

    assert call(access).status_code == 200
    refused = call("pat-000000000000-wrong")
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"


USER_HI = {"role": "user", "content": "hi"}


# -- JWT -----------------------------------------------------------------------------------


def test_a_jwt_from_the_identity_provider_is_accepted(ids: IdentityStack) -> None:
    with ids.client("sso", ids.token(email="ann@example.com")) as client:
        assert chat(client)


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        ({"key": "evil"}, "invalid_signature", "signature does not verify"),
        ({"aud": "someone-else"}, "invalid_audience", "not meant for this LLM proxy"),
        ({"iss": "https://evil.example"}, "invalid_issuer", "issuer"),
        ({"exp": -3600}, "expired_token", "has expired"),
        ({"kid": "k-unknown"}, "unknown_signing_key", "unknown `kid`"),
        ({"exp": None}, "missing_claim", "required claim"),
    ],
)
def test_a_bad_jwt_is_401_saying_what_is_wrong(
    ids: IdentityStack, change: dict[str, Any], code: str, says: str
) -> None:
    claims = {k: v for k, v in change.items() if k not in ("key", "kid")}
    if claims.get("exp") is not None:
        claims["exp"] = int(time.time()) + claims["exp"]
    token = ids.token(
        kid=change.get("kid", "k1"),
        key=new_rsa() if change.get("key") else None,
        **claims,
    )
    with ids.client("sso", token) as client:
        exc = refused(client)
    assert isinstance(exc, openai.AuthenticationError)
    assert error(exc)["code"] == code
    assert says in error(exc)["message"]
    # Nothing an attacker could use: not the expected audience or issuer, not the known kids.
    for detail in (AUDIENCE, ISSUER, "k1"):
        assert detail not in error(exc)["message"]


def test_a_rotated_signing_key_is_picked_up_on_its_unknown_kid(ids: IdentityStack) -> None:
    rotated = new_rsa()
    ids.publish((ids.signing, "k1"), (rotated, "k2"))
    fetches = _jwks_fetches(ids)
    token = ids.token(kid="k2", key=rotated)
    try:
        until(lambda: burst(ids, "sso", token) == [None] * 16, 5, "the new kid accepted")
        # Each worker fetched the set once on the unknown kid: the bursts reach both workers.
        assert _jwks_fetches(ids) - fetches == 2
    finally:
        ids.publish((ids.signing, "k1"))


# -- OAuth client credentials --------------------------------------------------------------


def _new_client(ids: IdentityStack, proxy: str = "apps") -> tuple[str, str]:
    made = ids.admin("POST", "/clients", json={"proxy": proxy, "name": "batch", "user": "svc"})
    assert made.status_code == 201, made.text
    body = made.json()
    ids.secrets.append(body["client_secret"])
    return body["client_id"], body["client_secret"]


def _token(ids: IdentityStack, **form: str) -> httpx.Response:
    return httpx.post(f"{ids.gateway.url}/oauth/token", data=form, timeout=20)


def test_oauth_client_credentials_give_a_short_lived_bearer_token(ids: IdentityStack) -> None:
    client_id, secret = _new_client(ids)
    answer = _token(
        ids,
        grant_type="client_credentials",
        client_id=client_id,
        client_secret=secret,
        scope="llm:proxy",
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "llm:proxy"
    assert 0 < body["expires_in"] <= 3600
    assert answer.headers["cache-control"] == "no-store"
    ids.secrets.append(body["access_token"])
    with ids.client("apps", body["access_token"]) as client:
        for _ in range(4):  # a token issued on one worker works on the other
            assert chat(client)
    with ids.client("keys", body["access_token"]) as client:
        assert error(refused(client))["code"] == "auth_method_not_accepted"
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    via_basic = httpx.post(
        f"{ids.gateway.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {basic}"},
    )
    assert via_basic.status_code == 200
    ids.secrets.append(via_basic.json()["access_token"])
    assert ids.admin("DELETE", f"/clients/{client_id}").status_code == 200
    with ids.client("apps", body["access_token"]) as client:
        until(lambda: _refused_n(client, 6), 5, "the revoked client's token")


@pytest.mark.parametrize(
    ("form", "status", "oauth_error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "admin"}, 400, "invalid_scope"),
        ({"grant_type": "client_credentials", "client_secret": "wrong"}, 401, "invalid_client"),
    ],
)
def test_the_token_endpoint_answers_rfc_6749_errors(
    ids: IdentityStack, form: dict[str, str], status: int, oauth_error: str
) -> None:
    client_id, secret = _new_client(ids)
    if oauth_error == "invalid_scope":
        form = {**form, "client_id": client_id, "client_secret": secret}
    elif oauth_error == "invalid_client":
        form = {**form, "client_id": client_id}
    answer = _token(ids, **form)
    assert answer.status_code == status
    assert answer.json()["error"] == oauth_error
    assert secret not in answer.text


# -- failed attempts -----------------------------------------------------------------------


def test_failed_attempts_are_limited_per_address_and_credential(ids: IdentityStack) -> None:
    forged = "pal-0123456789ab-not-the-secret"
    statuses = []
    with ids.client("keys", forged) as client:
        # Each of the two workers counts on its own: 2 * limit + 1 failures reach one's limit.
        for _ in range(2 * FAILED_AUTH_LIMIT + 1):
            exc = refused(client)
            statuses.append(exc.status_code)
            if exc.status_code == 429:
                assert error(exc)["code"] == "too_many_auth_failures"
                assert int(exc.response.headers["retry-after"]) > 0
                break
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {401}
    _, good = ids.create_key("keys", "unaffected")
    with ids.client("keys", good) as client:
        for _ in range(4):
            assert chat(client)


# -- proxies through the admin API ---------------------------------------------------------


def _served(ids: IdentityStack, proxy: str, token: str) -> bool:
    return burst(ids, proxy, token) == [None] * 16


def _gone(ids: IdentityStack, proxy: str, n: int = 16) -> bool:
    # A new connection per request (module-level httpx), so both workers answer some.
    for _ in range(n):
        answer = httpx.post(
            f"{ids.gateway.url}/{proxy}/chat/completions",
            json={"model": "mock-gpt", "messages": MESSAGES},
        )
        if answer.status_code != 404 or answer.json()["error"]["code"] != "proxy_not_found":
            return False
    return True


def test_admin_proxy_changes_reach_all_workers_as_versions_that_roll_back(
    ids: IdentityStack,
) -> None:
    before = ids.admin("GET", "/versions", token=VIEWER).json()["data"][0]["version"]
    made = ids.admin("POST", "/proxies", json={"name": "Team Blue", "auth": ["virtual_key"]})
    assert made.status_code == 201, made.text
    assert made.json()["id"] == "team-blue"
    assert made.json()["version"] == before + 1
    _, token = ids.create_key("team-blue", "blue")
    until(lambda: _served(ids, "team-blue", token), 5, "the new proxy on both workers")

    # A change: the proxy opens to provider keys too; then a mistake is rolled back.
    changed = ids.admin(
        "PUT", "/proxies/team-blue", json={"name": "Team Blue", "auth": ["virtual_key", "jwt"]}
    )
    assert changed.status_code == 400  # jwt needs its settings: nothing was written
    assert "jwt" in changed.json()["error"]["message"]
    deleted = ids.admin("DELETE", "/proxies/team-blue")
    assert deleted.status_code == 200
    until(lambda: _gone(ids, "team-blue"), 5, "the deleted proxy gone from both workers")

    listed = ids.admin("GET", "/proxies", token=VIEWER).json()
    assert "team-blue" not in [p["id"] for p in listed["data"]]
    assert listed["version"] == before + 2
    created = ids.admin("GET", f"/versions/{before + 1}", token=VIEWER).json()
    blue = next(p for p in created["proxies"] if p["id"] == "team-blue")
    assert blue["auth"] == ["virtual_key"]
    assert ids.admin("GET", "/versions/999999", token=VIEWER).status_code == 404
    history = ids.admin("GET", "/versions", token=VIEWER).json()["data"]
    assert [(v["action"], v["proxy"], v["who"]) for v in history[:2]] == [
        ("delete", "team-blue", "admin"),
        ("create", "team-blue", "admin"),
    ]
    assert ids.admin("POST", f"/versions/{before + 1}/rollback", token=VIEWER).status_code == 403
    rolled = ids.admin("POST", f"/versions/{before + 1}/rollback")
    assert rolled.status_code == 200
    assert rolled.json()["action"] == f"rollback to {before + 1}"
    assert "team-blue" in [p["id"] for p in rolled.json()["proxies"]]
    until(lambda: _served(ids, "team-blue", token), 5, "the restored proxy on both workers")
    shown = ids.admin("GET", "/proxies/team-blue", token=VIEWER).json()
    assert shown["served"] is True
    assert shown["paths"] == ["/team-blue", "/v1/openai/team-blue"]
    assert shown["version"] == rolled.json()["version"]
    assert ids.admin("DELETE", "/proxies/default").status_code == 409
    assert ids.admin("POST", "/proxies", json={"name": "Admin"}).status_code == 400
    assert ids.admin("POST", "/proxies", json={"name": "Team Blue"}).status_code == 409


# -- attribution and identity in the request context (the probe gateway) --------------------


def _contexts(ids: IdentityStack) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(f"{ids.probe.url}/_probe/contexts").json()
    return found


def test_identity_and_attribution_land_in_the_request_context(ids: IdentityStack) -> None:
    headers = {
        "X-Archestra-Meta": "agent-7/run-9/sess-3",
        "X-Archestra-User-Id": "header-user",
        "X-Palisade-Session-Id": "sess-override",
    }
    httpx.delete(f"{ids.probe.url}/_probe/contexts")
    with ids.client("default", "anything", probe=True) as client:
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES, extra_headers=headers)
    key_id, token = ids.create_key("keys", "probe", "--user", "key-user", "--rpm", "7")
    with ids.client("keys", token, probe=True) as client:
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES, extra_headers=headers)
    with ids.client("sso", ids.token(email="ann@example.com"), probe=True) as client:
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES, extra_headers=headers)
    with ids.client("sso", ids.token(), probe=True) as client:  # no email: the subject
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES)
    with ids.client("byok", "sk-own-key-for-probe", probe=True) as client:
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES, extra_headers=headers)
    ids.secrets.append("sk-own-key-for-probe")
    seen = _contexts(ids)
    ids_from_headers = {
        "agent_id": "agent-7",
        "execution_id": "run-9",
        "session_id": "sess-override",
    }
    assert seen[0] == {
        "proxy_id": "default",
        "auth_method": "none",
        "key_id": None,
        "key_limits": None,
        "user_id": "header-user",
        **ids_from_headers,
    }
    # An authenticated identity wins over User-Id.
    assert seen[1] == {
        "proxy_id": "keys",
        "auth_method": "virtual_key",
        "key_id": key_id,
        "key_limits": {"rpm": 7},
        "user_id": "key-user",
        **ids_from_headers,
    }
    assert seen[2]["auth_method"] == "jwt"
    assert seen[2]["user_id"] == "ann@example.com"
    assert seen[3]["user_id"] == "user-123"
    assert seen[3]["agent_id"] is None
    assert seen[4]["auth_method"] == "provider_key"
    assert seen[4]["user_id"] == "header-user"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Archestra-Meta": "a/e/s/extra"},
        {"X-Palisade-Agent-Id": "team/agent"},
        {"X-Archestra-Session-Id": "x" * 300},
    ],
)
def test_malformed_attribution_headers_are_400(ids: IdentityStack, headers: dict[str, str]) -> None:
    with (
        ids.client("default", "anything", probe=True) as client,
        pytest.raises(openai.BadRequestError) as info,
    ):
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES, extra_headers=headers)
    assert error(info.value)["code"] == "invalid_attribution_header"


# -- last: nothing secret was written ------------------------------------------------------


def test_no_secret_reaches_the_store_or_the_logs(ids: IdentityStack) -> None:
    assert len(ids.secrets) > 10
    stored = b"".join(p.read_bytes() for p in Path(ids.db).parent.glob(f"{Path(ids.db).name}*"))
    logs = ids.gateway.log.read_bytes() + ids.probe.log.read_bytes()
    assert b"virtual_keys" in stored  # the right file
    for secret in ids.secrets:
        ours = credentials.parse(secret)
        for part in {secret, ours.secret if ours else secret}:
            assert part.encode() not in stored, "a secret is in the store"
            assert part.encode() not in logs, "a secret is in the logs"
