"""The console in a real Chromium against a real gateway and mock provider: sign-in, the logs
and their filters, the detail page, the session view, the dashboards, proxies with Connect,
keys shown once, the viewer's read-only role, CSRF. Every page's screenshot is saved under
`artifacts/console/`, and no page may request any host but the gateway."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import openai
import pytest

from tests.e2e.console_stack import (
    ADMIN,
    VIEWER,
    ConsoleStack,
    Tab,
    start_stack,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    yield from start_stack(tmp_path_factory.mktemp("console"))


def _rows(tab: Tab, table: str = "#logs") -> list[str]:
    ids: list[str] = tab.page.eval_on_selector_all(
        f"{table} tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)"
    )
    return ids


def _filter(tab: Tab, **fields: str) -> None:
    for name, value in fields.items():
        tab.page.fill(f"#filters [name={name}]", value)
    tab.page.click("#filters button[type=submit]")
    tab.page.wait_for_function("want => location.hash.includes(want)", arg=f"{next(iter(fields))}=")
    _loaded(tab)


def _loaded(tab: Tab) -> None:
    """Until the logs table holds the first page of the view the URL names."""
    tab.page.wait_for_function(
        "() => document.querySelector('#logs')?.dataset.loaded === location.hash"
    )


def test_sign_in_then_filter_the_logs_by_agent_user_and_session(
    stack: ConsoleStack, tab: Tab
) -> None:
    run = uuid.uuid4().hex[:6]
    a1, a2, u1, u2, s1, s2 = (f"{n}-{run}" for n in ("agent1", "agent2", "u1", "u2", "s1", "s2"))
    calls = [(a1, u1, s1), (a1, u2, s1), (a2, u1, s2), (a2, u2, s2), (a1, u1, s2)]
    # Both header prefixes are attribution headers (pipeline/attribution.py).
    ids = [
        stack.chat(
            **{"x-archestra-agent-id": a, "x-archestra-user-id": u, "x-palisade-session-id": s}
        )
        for a, u, s in calls
    ]
    stack.wait_recorded(ids)
    tab.open()
    tab.page.wait_for_selector("#sign-in")
    tab.shot("sign-in")
    tab.page.fill("#token", "not-the-token")
    tab.page.click("#sign-in button[type=submit]")
    tab.page.wait_for_selector("#sign-in [role=alert]")
    tab.sign_in(ADMIN)
    assert tab.page.inner_text("#role") == "admin"
    tab.page.wait_for_selector("#logs tbody tr")
    cookie = next(c for c in tab.context.cookies() if c["name"] == "palisade_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert ADMIN not in cookie["value"]

    def expect(field: str, value: str, matching: list[int]) -> None:
        _filter(tab, **{field: value})
        assert sorted(_rows(tab)) == sorted(ids[i] for i in matching), (field, value)

    expect("agent_id", a1, [0, 1, 4])
    tab.shot("logs")
    tab.page.click("#filters a.button")  # Clear
    tab.page.wait_for_function("() => !location.hash.includes('agent_id')")
    _loaded(tab)
    expect("user_id", u2, [1, 3])
    tab.page.click("#filters a.button")
    tab.page.wait_for_function("() => !location.hash.includes('user_id')")
    _loaded(tab)
    expect("session_id", s2, [2, 3, 4])
    # Every column of a row is what was sent.
    row = tab.page.locator(f"#logs tr[data-id='{ids[2]}']")
    assert row.locator("td.agent").inner_text() == a2
    assert row.locator("td.user").inner_text() == u1
    assert row.locator("td.status").inner_text().startswith("200")

    # The session view: its interactions in order, oldest first.
    row.locator("td.session a").click()
    tab.page.wait_for_selector("#session-rows tbody tr")
    assert _rows(tab, "#session-rows") == [ids[2], ids[3], ids[4]]
    tab.shot("session")
    tab.go("#/sessions", f"#sessions a[href='#/session/{s2}']")
    tab.shot("sessions")

    # Live tail: a new interaction of the filtered agent appears without a reload.
    tab.go(f"#/logs?agent_id={a2}", "#logs tbody tr")
    _loaded(tab)
    tab.page.check("#tail")
    newer = stack.chat(**{"x-archestra-agent-id": a2})
    tab.page.wait_for_selector(f"#logs tr.new[data-id='{newer}']", timeout=15000)
    assert _rows(tab)[0] == newer
    assert sorted(_rows(tab)) == sorted([ids[2], ids[3], newer])

    tab.page.click("#sign-out")
    tab.page.wait_for_selector("#sign-in")
    assert tab.fetch("GET", "/admin/v1/interactions") == 401


def test_the_detail_page_shows_the_redacted_request_and_the_decisions(
    stack: ConsoleStack, tab: Tab
) -> None:
    email = f"jane.{uuid.uuid4().hex[:6]}@example.com"
    interaction = stack.chat("redacted", f"Write to {email} about the <script>alert(1)</script>")
    stack.wait_recorded([interaction])
    tab.sign_in(ADMIN)
    tab.go("#/logs?proxy=redacted", f"#logs tr[data-id='{interaction}']")
    tab.page.click(f"#logs tr[data-id='{interaction}'] a.detail-link")
    tab.page.wait_for_selector("#request-body")
    request = tab.page.inner_text("#request-body")
    assert email not in request
    assert "Write to" in request
    # Attacker-controlled text is shown as text: no element was made from it.
    assert "<script>alert(1)</script>" in request
    assert tab.page.locator("#request-body script").count() == 0
    decisions = tab.page.inner_text("#decisions")
    assert "pii-redact" in decisions
    assert "redact" in decisions
    assert "messages[0].content" in decisions
    assert tab.page.inner_text("#response-body").strip()
    assert "Limits, budget and dedup" in tab.page.inner_text("main")
    assert tab.page.locator("#attempts").count() == 0  # one attempt: the record says all
    tab.shot("detail")

    # A call that took two attempts (its first deployment refuses connections) lists them.
    retried = stack.chat(model="ha-model")
    stack.wait_recorded([retried])
    tab.go(f"#/interaction/{retried}", "#attempts")
    attempts = tab.page.inner_text("#attempts")
    assert "connect_error" in attempts
    assert "dead" in attempts
    assert tab.page.locator("#attempts tbody tr").count() == 2
    tab.shot("detail-attempts")


def test_the_dashboards_draw_charts(stack: ConsoleStack, tab: Tab) -> None:
    run = uuid.uuid4().hex[:6]
    ids = [stack.chat(**{"x-archestra-agent-id": f"dash-{run}-{i % 2}"}) for i in range(4)]
    stack.wait_recorded(ids)
    tab.sign_in(VIEWER)
    tab.go("#/dashboards?range=1h", "#chart-requests svg")
    for chart in ("requests", "latency", "ttft", "tokens", "cost", "guardrails"):
        tab.page.wait_for_selector(f"#chart-{chart} svg path.line", state="attached")
    # A drawn line, not an empty path: the requests series has points.
    line = tab.page.get_attribute("#chart-requests path[data-series=requests]", "d") or ""
    assert len(re.findall(r"[ML]", line)) >= 1
    assert line != "M0,0"
    labels = tab.page.eval_on_selector_all(
        "#chart-top-agents rect", "bars => bars.map(b => b.dataset.label)"
    )
    assert f"dash-{run}-0" in labels
    assert f"dash-{run}-1" in labels
    legend = tab.page.inner_text("#chart-requests-by-agent .legend")
    assert f"dash-{run}-0" in legend
    tab.shot("dashboards")
    tab.go("#/dashboards?range=7d", "#chart-cost-by-model svg")
    assert "one point per 180 min" in tab.page.inner_text("#totals")


def test_the_viewer_cannot_write(stack: ConsoleStack, tab: Tab) -> None:
    tab.sign_in(VIEWER)
    assert tab.page.inner_text("#role") == "viewer"
    tab.go("#/proxies", "#proxies tbody tr")
    assert tab.page.locator("#new-proxy").count() == 0
    assert tab.page.locator("#proxies button.edit, #proxies button.delete").count() == 0
    assert tab.page.locator("#proxies button.connect").count() >= 1
    tab.shot("proxies-viewer")
    tab.go("#/keys", "#keys")
    assert tab.page.locator("#key-form, #client-form, button.revoke").count() == 0
    tab.shot("keys-viewer")
    # With the session's CSRF token, the API still refuses the viewer.
    assert tab.fetch("POST", "/admin/v1/proxies", {"name": "viewer-made"}) == 403
    assert stack.admin("GET", "/proxies/viewer-made").status_code == 404


def test_a_write_without_the_csrf_token_is_refused(stack: ConsoleStack, tab: Tab) -> None:
    tab.sign_in(ADMIN)
    name = f"csrf-{uuid.uuid4().hex[:6]}"
    assert tab.fetch("POST", "/admin/v1/proxies", {"name": name}, csrf=False) == 403
    assert stack.admin("GET", f"/proxies/{name}").status_code == 404
    assert tab.fetch("POST", "/admin/v1/proxies", {"name": name}) == 201


def test_create_a_proxy_then_call_its_connect_url(stack: ConsoleStack, tab: Tab) -> None:
    tab.sign_in(ADMIN)
    tab.go("#/proxies", "#proxies tbody tr")
    tab.page.click("#new-proxy")
    run = uuid.uuid4().hex[:6]
    tab.page.fill("#proxy-name", f"Support Bot {run} (EU)")
    assert tab.page.inner_text("#proxy-id") == f"support-bot-{run}-eu"  # live, as typed
    tab.page.fill("#proxy-description", "made in the browser")
    assert "pii, redact on request" in tab.page.inner_text("#proxy-guardrails")
    tab.page.check("#proxy-guardrails input[value=pii-redact]")
    tab.page.click("#proxy-save")
    tab.page.wait_for_selector("#connect #connect-url")
    url = tab.page.inner_text("#connect-url")
    assert url == f"{stack.gateway}/support-bot-{run}-eu"
    tab.page.click("#connect tr:first-child button.copy")
    copied = tab.page.evaluate("() => navigator.clipboard.readText()")
    assert copied == url
    assert "Claude Code" in tab.page.inner_text("#connect")
    tab.shot("proxies-connect")
    with openai.OpenAI(base_url=copied, api_key="any", max_retries=0, timeout=20) as client:
        answer = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    stack.wait_recorded([answer.headers["x-palisade-request-id"]])
    found = stack.admin("GET", f"/interactions?proxy=support-bot-{run}-eu").json()["data"]
    assert len(found) == 1
    assert found[0]["guardrail_actions"] == []  # "hi" has nothing to redact
    pid = f"support-bot-{run}-eu"
    proxy = stack.admin("GET", f"/proxies/{pid}").json()
    assert proxy["guardrails"] == ["pii-redact"]
    assert proxy["description"] == "made in the browser"

    # Edit, then delete.
    tab.page.click(f"#proxies tr[data-proxy='{pid}'] button.edit")
    tab.page.fill("#proxy-description", "edited in the browser")
    tab.page.click("#proxy-save")
    tab.page.wait_for_selector(f"#proxies tr[data-proxy='{pid}']:has-text('edited in the browser')")
    assert stack.admin("GET", f"/proxies/{pid}").json()["description"] == "edited in the browser"
    tab.page.click(f"#proxies tr[data-proxy='{pid}'] button.delete")
    tab.page.wait_for_selector(f"#proxies tr[data-proxy='{pid}']", state="detached")
    assert stack.admin("GET", f"/proxies/{pid}").status_code == 404


def test_generate_a_key_see_it_once_use_it_revoke_it(stack: ConsoleStack, tab: Tab) -> None:
    tab.sign_in(ADMIN)
    tab.go("#/keys", "#key-form")
    name = f"ci-{uuid.uuid4().hex[:6]}"
    tab.page.select_option("#key-proxy", "keys")
    tab.page.fill("#key-name", name)
    tab.page.click("#key-create")
    tab.page.wait_for_selector("#new-key")
    secret = tab.page.inner_text("#new-key")
    assert "shown only once" in tab.page.inner_text("#new-key-box")
    tab.shot("keys-created")
    with stack.client("keys", secret) as client:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    # Shown once: a reload lists the key, never its secret.
    tab.page.reload()
    tab.page.wait_for_selector("#keys tbody tr")
    assert secret not in tab.page.content()
    row = tab.page.locator("#keys tbody tr", has_text=name)
    row.locator("button.revoke").click()
    tab.page.wait_for_selector(f"#keys tr.revoked:has-text('{name}')")
    tab.shot("keys")
    with stack.client("keys", secret) as client, pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
