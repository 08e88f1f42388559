"""The console's Guardrails page and the proxy form's JWT settings, in a real Chromium against
a real gateway and mock provider: an edit saved in the form changes what an openai SDK call
through the proxy gets; a guardrail made, refused and deleted in the form; the history rolls
back; a proxy with `jwt` auth made in the form refuses a call without a token; the viewer gets
no write button and a 403. Screenshots under `artifacts/console/`; no page may request any
host but the gateway (console_stack.offline_tab)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx2 as httpx
import openai
import pytest

from tests.e2e.console_stack import (
    ADMIN,
    VIEWER,
    ConsoleStack,
    Tab,
    start_stack,
)
from tests.helpers.polling import until

EMAIL = "jane.doe@example.com"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    yield from start_stack(tmp_path_factory.mktemp("console-guardrails"))


def outcome(stack: ConsoleStack) -> str | None:
    """The error code of an openai SDK call with an address through `redacted`, None if it
    was answered."""
    with stack.client("redacted") as client:
        try:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"Mail {EMAIL}"}]
            )
        except openai.APIStatusError as exc:
            return str(exc.code)
    return None


def _saved(tab: Tab, name: str, text: str) -> None:
    tab.page.wait_for_selector(f"#guardrails tr[data-guardrail='{name}']:has-text('{text}')")


def test_edit_a_guardrail_in_the_form_and_calls_change_then_roll_back(
    stack: ConsoleStack, tab: Tab
) -> None:
    assert outcome(stack) is None  # redact: answered, the address never reaches the provider
    tab.sign_in(ADMIN)
    tab.go("#/guardrails", "#guardrails tr[data-guardrail='pii-redact']")
    row = tab.page.locator("#guardrails tr[data-guardrail='pii-redact']")
    assert "pii, redact on request" in row.inner_text()
    assert "redacted" in row.locator("td.proxies").inner_text()
    tab.shot("guardrails")

    row.locator("button.edit").click()
    tab.page.wait_for_selector("#guardrail-form")
    assert tab.page.get_attribute("#guardrail-name", "readonly") is not None
    assert tab.page.input_value("#guardrail-action") == "redact"
    assert tab.page.input_value("#guardrail-direction") == "request"
    tab.page.select_option("#guardrail-action", "block")
    tab.page.check("#guardrail-entities input[value=email]")
    tab.shot("guardrails-edit")
    tab.page.click("#guardrail-save")
    _saved(tab, "pii-redact", "pii, block on request (email)")
    stored = stack.admin("GET", "/guardrails/pii-redact").json()
    assert (stored["action"], stored["entities"]) == ("block", ["email"])
    until(lambda: outcome(stack) == "pii_detected", 5, "the edited guardrail blocking")
    with stack.client("redacted") as client, pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"Mail {EMAIL}"}]
        )
    assert caught.value.type == "guardrail_violation"
    assert "pii-redact" in caught.value.message

    # The history rolls the edit back: calls are answered again.
    tab.page.wait_for_selector("#guardrail-history tbody tr")
    assert "update" in tab.page.inner_text("#guardrail-history tbody tr:first-child")
    tab.shot("guardrails-history")
    tab.page.locator("#guardrail-history tbody tr:nth-child(2) button.rollback").click()
    _saved(tab, "pii-redact", "pii, redact on request")
    until(lambda: outcome(stack) is None, 5, "the rolled back guardrail redacting")
    assert stack.admin("GET", "/guardrails/pii-redact").json()["action"] == "redact"

    # Attached by a proxy: the delete is refused and the page says by which.
    row.locator("button.delete").click()
    tab.page.wait_for_selector("#guardrail-result [role=alert]")
    assert "`redacted`" in tab.page.inner_text("#guardrail-result")
    assert stack.admin("GET", "/guardrails/pii-redact").status_code == 200


def test_create_a_rules_guardrail_a_bad_one_is_refused_then_delete_it(
    stack: ConsoleStack, tab: Tab
) -> None:
    name = f"house-{uuid.uuid4().hex[:6]}"
    tab.sign_in(ADMIN)
    # A console write without the session's CSRF token is refused, as for proxies.
    unsigned = {"name": name, "type": "pii"}
    assert tab.fetch("POST", "/admin/v1/guardrails", unsigned, csrf=False) == 403
    assert stack.admin("GET", f"/guardrails/{name}").status_code == 404
    tab.go("#/guardrails", "#new-guardrail")
    tab.page.click("#new-guardrail")
    tab.page.fill("#guardrail-name", name)
    tab.page.select_option("#guardrail-type", "rules")
    tab.page.select_option("#guardrail-action", "block")
    tab.page.fill("#guardrail-patterns", "project_code: PRJ-[0-9]{4}\nbroken: (unclosed")
    tab.page.fill("#guardrail-keywords", "codenames: bluebird, nightjar")
    tab.page.click("#guardrail-save")
    tab.page.wait_for_selector("#guardrail-problem [role=alert]")
    assert "guardrail:" in tab.page.inner_text("#guardrail-problem")
    assert stack.admin("GET", f"/guardrails/{name}").status_code == 404
    tab.shot("guardrails-refused")

    tab.page.fill("#guardrail-patterns", "project_code: PRJ-[0-9]{4}")
    tab.page.click("#guardrail-save")
    _saved(tab, name, "rules, block on both (project_code codenames)")
    stored = stack.admin("GET", f"/guardrails/{name}").json()
    assert stored["patterns"] == {"project_code": "PRJ-[0-9]{4}"}
    assert stored["keywords"] == {"codenames": ["bluebird", "nightjar"]}

    # A JSON rule list for a tool policy; the server's error names the bad key.
    tab.page.click("#new-guardrail")
    tab.page.fill("#guardrail-name", f"{name}-tools")
    tab.page.select_option("#guardrail-type", "tool_policies")
    tab.page.fill("#guardrail-rules", '[{"tool": "run_shell", "action": "maybe"}]')
    tab.page.click("#guardrail-save")
    tab.page.wait_for_selector("#guardrail-problem [role=alert]")
    assert "rules[0].action" in tab.page.inner_text("#guardrail-problem")
    tab.page.fill(
        "#guardrail-rules", '[{"name": "no-shell", "tool": "run_shell", "action": "block"}]'
    )
    tab.page.click("#guardrail-save")
    _saved(tab, f"{name}-tools", "no-shell: run_shell → block")

    for made in (name, f"{name}-tools"):
        tab.page.locator(f"#guardrails tr[data-guardrail='{made}'] button.delete").click()
        tab.page.wait_for_selector(f"#guardrails tr[data-guardrail='{made}']", state="detached")
        assert stack.admin("GET", f"/guardrails/{made}").status_code == 404


def test_create_a_proxy_with_jwt_auth_in_the_form(stack: ConsoleStack, tab: Tab) -> None:
    run = uuid.uuid4().hex[:6]
    pid = f"sso-{run}"
    tab.sign_in(ADMIN)
    tab.go("#/proxies", "#proxies tbody tr")
    tab.page.click("#new-proxy")
    tab.page.fill("#proxy-name", pid)
    assert not tab.page.is_visible("#proxy-jwt")
    tab.page.check("#proxy-auth input[value=jwt]")
    tab.page.wait_for_selector("#proxy-jwt", state="visible")
    tab.page.fill("#proxy-jwt-issuer", "https://idp.example.test")
    tab.page.fill("#proxy-jwt-audience", "palisade-console")
    tab.page.fill("#proxy-jwt-jwks-url", f"{stack.mock}/_mock/jwks.json")
    tab.page.check("#proxy-jwt-algorithms input[value=ES256]")
    tab.shot("proxies-jwt")
    tab.page.click("#proxy-save")
    tab.page.wait_for_selector("#connect #connect-url")
    proxy = stack.admin("GET", f"/proxies/{pid}").json()
    assert proxy["auth"] == ["jwt"]
    assert proxy["jwt"] == {
        "issuer": "https://idp.example.test",
        "audience": "palisade-console",
        "jwks_url": f"{stack.mock}/_mock/jwks.json",
        "algorithms": ["RS256", "ES256"],
    }
    # No token: 401 in the openai dialect; a token that is no JWT: the SDK's 401.
    answer = httpx.post(
        f"{stack.gateway}/{pid}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        timeout=20,
    )
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "missing_credentials"
    with stack.client(pid, "not-a-jwt") as client, pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )

    # Edit: the fields come back filled; unchecking jwt drops the settings.
    tab.page.click(f"#proxies tr[data-proxy='{pid}'] button.edit")
    tab.page.wait_for_selector("#proxy-jwt", state="visible")
    assert tab.page.input_value("#proxy-jwt-audience") == "palisade-console"
    assert tab.page.is_checked("#proxy-jwt-algorithms input[value=ES256]")
    tab.page.fill("#proxy-jwt-audience", "palisade-edited")
    tab.page.click("#proxy-save")
    tab.page.wait_for_selector("#connect #connect-url")
    assert stack.admin("GET", f"/proxies/{pid}").json()["jwt"]["audience"] == "palisade-edited"
    tab.page.click(f"#proxies tr[data-proxy='{pid}'] button.edit")
    tab.page.uncheck("#proxy-auth input[value=jwt]")
    assert not tab.page.is_visible("#proxy-jwt")
    tab.page.click("#proxy-save")
    tab.page.wait_for_selector("#connect #connect-url")
    edited = stack.admin("GET", f"/proxies/{pid}").json()
    assert (edited["auth"], "jwt" in edited) == ([], False)


def test_the_viewer_sees_guardrails_but_cannot_change_them(stack: ConsoleStack, tab: Tab) -> None:
    tab.sign_in(VIEWER)
    tab.go("#/guardrails", "#guardrails tr[data-guardrail='pii-redact']")
    assert tab.page.locator("#guardrails tr").count() >= 2
    assert tab.page.locator("#guardrail-history tbody tr").count() >= 1
    writes = "#new-guardrail, button.edit, button.delete, button.rollback, #guardrail-form"
    assert tab.page.locator(writes).count() == 0
    tab.shot("guardrails-viewer")
    body = {"name": "pii-redact", "type": "pii", "action": "block"}
    assert tab.fetch("PUT", "/admin/v1/guardrails/pii-redact", body) == 403
    assert tab.fetch("POST", "/admin/v1/guardrails", {**body, "name": "viewer-made"}) == 403
    assert tab.fetch("DELETE", "/admin/v1/guardrails/pii-redact") == 403
    assert stack.admin("GET", "/guardrails/pii-redact").json()["action"] == "redact"
