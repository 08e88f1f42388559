"""The `secrets` guardrail against the gateway's own credentials, as a proxy's compiled guards
see them: virtual keys and access tokens by their shape, the configured admin tokens exactly;
on without an `entities` list, blocked or redacted whole, never named by value."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade.config import Config, ScanGuardrail, parse_config
from palisade.errors import GuardrailViolation
from palisade.guardrails.decisions import Decision
from palisade.guardrails.policy import ProxyGuards
from palisade.identity import credentials
from palisade.identity.runtime import build_proxies

WHERE = ("messages", 0, "content")
# Built at run time so that no secret scanner flags this file.
ADMIN = "-".join(["ops", "Chose", "This", "Admin", "Token", "42"])
VIEWER = "viewer." + "only" * 4
SHORT = "letmein-admin"


def config(guardrail: dict[str, Any], admin: dict[str, str] | None = None) -> Config:
    raw: dict[str, Any] = {
        "guardrails": {"secrets": {"type": "secrets", "direction": "request", **guardrail}},
        "proxies": [{"name": "p", "guardrails": ["secrets"]}],
    }
    if admin is not None:
        raw["admin"] = admin
    return parse_config(raw, source="t.yaml", env={})


def guards(admin: dict[str, str] | None = None, **guardrail: Any) -> ProxyGuards:
    c = config(guardrail, admin)
    return ProxyGuards.build(c.proxies[0], admin_tokens=c.admin.tokens)


def scan(g: ProxyGuards, text: str) -> tuple[str, list[Decision]]:
    assert g.request_scan is not None
    decisions: list[Decision] = []
    out, _ = g.request_scan.redact(text, WHERE, "request", decisions)
    return out, decisions


@pytest.fixture
def key() -> str:
    return credentials.issue("pal")[1]


@pytest.fixture
def token() -> str:
    return credentials.issue("pat")[1]


def test_no_entities_list_means_the_own_credentials_too() -> None:
    [guardrail] = config({}).proxies[0].guardrails
    assert isinstance(guardrail, ScanGuardrail)
    assert {"palisade_virtual_key", "palisade_access_token"} <= set(guardrail.entities)


@pytest.mark.parametrize("kind", ["palisade_virtual_key", "palisade_access_token"])
def test_block_names_the_kind_never_the_credential(key: str, token: str, kind: str) -> None:
    value = key if kind == "palisade_virtual_key" else token
    with pytest.raises(GuardrailViolation) as caught:
        scan(guards(action="block"), f"Why does the gateway refuse {value}?")
    error = caught.value
    assert error.code == "secret_detected"
    assert f"({kind})" in error.message
    shown = error.message + orjson.dumps(error.body()).decode() + repr(error)
    _, cid, secret = value.split("-", 2)
    assert cid not in shown
    assert secret[:12] not in shown
    assert secret[-12:] not in shown


def test_redact_replaces_each_credential_whole(key: str, token: str) -> None:
    text = f'{{"api_key": "{key}"}} then Bearer {token}, and {key} again'
    out, decisions = scan(guards(action="redact"), text)
    assert out == (
        '{"api_key": "[PALISADE_VIRTUAL_KEY_1]"} then Bearer [PALISADE_ACCESS_TOKEN_1], '
        "and [PALISADE_VIRTUAL_KEY_1] again"
    )
    [d] = decisions
    assert (d.guardrail, d.action) == ("secrets", "redact")
    assert d.counts == (("palisade_access_token", 1), ("palisade_virtual_key", 2))


def test_an_entities_list_can_name_one_of_them(key: str, token: str) -> None:
    g = guards(action="redact", entities=["palisade_access_token"])
    out, _ = scan(g, f"{key} {token}")
    assert out == f"{key} [PALISADE_ACCESS_TOKEN_1]"


# --- the admin API's tokens: no shape, matched exactly --------------------------------------


def test_admin_tokens_are_blocked_by_kind_never_echoed() -> None:
    g = guards({"token": ADMIN, "viewer_token": VIEWER}, action="block")
    for text in (
        f"curl -H 'Authorization: Bearer {ADMIN}' https://gw/admin/v1/keys",
        f"curl -H 'Authorization: Bearer {VIEWER}' https://gw/admin/v1/keys",
        # Glued into a URL: the token's characters are the secret, whatever surrounds them.
        f"open https://gw/admin/v1/keys?t={VIEWER}&page=2",
        f"Authorization:Bearer{ADMIN}",
    ):
        with pytest.raises(GuardrailViolation) as caught:
            scan(g, text)
        error = caught.value
        assert "(palisade_admin_token)" in error.message
        shown = error.message + orjson.dumps(error.body()).decode() + repr(error) + repr(g)
        for value in (ADMIN, VIEWER):
            assert value not in shown
            assert value[:10] not in shown


def test_a_case_folded_admin_token_is_not_the_token() -> None:
    # The admin API compares a token byte for byte: an upper-cased copy opens nothing, so it is
    # not the secret and passes.
    g = guards({"token": ADMIN}, action="block")
    text = f"was it {ADMIN.upper()} or {ADMIN.lower()}?"
    assert scan(g, text) == (text, [])


def test_admin_tokens_are_redacted_and_short_ones_left_alone() -> None:
    g = guards({"token": ADMIN, "viewer_token": SHORT}, action="redact")
    out, decisions = scan(g, f"the token is {ADMIN}; the viewer's is {SHORT}")
    # A 13-character token would be an ordinary word: only tokens of 16 or more are matched.
    assert out == f"the token is [PALISADE_ADMIN_TOKEN_1]; the viewer's is {SHORT}"
    assert decisions[0].counts == (("palisade_admin_token", 1),)


def test_admin_and_viewer_tokens_are_both_redacted() -> None:
    g = guards({"token": ADMIN, "viewer_token": VIEWER}, action="redact")
    out, decisions = scan(g, f"admin={ADMIN}&viewer={VIEWER}, again {ADMIN}")
    assert out == (
        "admin=[PALISADE_ADMIN_TOKEN_1]&viewer=[PALISADE_ADMIN_TOKEN_2], "
        "again [PALISADE_ADMIN_TOKEN_1]"
    )
    assert decisions[0].counts == (("palisade_admin_token", 3),)


def test_admin_tokens_follow_the_entities_list() -> None:
    text = f"admin {ADMIN}"
    listed = guards({"token": ADMIN}, action="redact", entities=["palisade_admin_token"])
    assert scan(listed, text)[0] == "admin [PALISADE_ADMIN_TOKEN_1]"
    others = guards({"token": ADMIN}, action="redact", entities=["openai_api_key"])
    assert scan(others, text)[0] == text


def test_proxies_built_from_the_store_get_the_admin_tokens() -> None:
    c = config({"action": "block"}, {"token": ADMIN})
    stored = [{"id": "p", "name": "p", "guardrails": ["secrets"], "version": 1}]
    built = build_proxies(c, c.guardrails, stored, {})
    with pytest.raises(GuardrailViolation, match="palisade_admin_token"):
        scan(built["p"], f"use {ADMIN}")
