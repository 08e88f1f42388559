"""The `secrets` guardrail against the gateway's own credentials, as a proxy's compiled guards
see them: on without an `entities` list, blocked or redacted whole, never named by value."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade.config import Config, ScanGuardrail, parse_config
from palisade.errors import GuardrailViolation
from palisade.guardrails.decisions import Decision
from palisade.guardrails.policy import ProxyGuards
from palisade.identity import credentials

WHERE = ("messages", 0, "content")


def config(guardrail: dict[str, Any]) -> Config:
    raw = {
        "guardrails": {"secrets": {"type": "secrets", "direction": "request", **guardrail}},
        "proxies": [{"name": "p", "guardrails": ["secrets"]}],
    }
    return parse_config(raw, source="t.yaml", env={})


def guards(**guardrail: Any) -> ProxyGuards:
    return ProxyGuards.build(config(guardrail).proxies[0])


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
