"""The console's Deployments page in a real Chromium against a real gateway and mock provider:
deploy a proxy to the stack's gateway, stop it, deploy it again, roll back from the history,
and see the openai SDK's calls to it start and stop; the viewer sees it all without a write
button. Screenshots under `artifacts/console/`; no page requests any host but the gateway."""

from __future__ import annotations

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
    yield from start_stack(tmp_path_factory.mktemp("console-deployments"))


def _two_versions(stack: ConsoleStack, pid: str) -> tuple[int, int]:
    """A new proxy whose first version passes text through and whose second redacts PII."""
    assert stack.admin("POST", "/proxies", json={"name": pid}).status_code == 201
    first = int(stack.admin("GET", f"/proxies/{pid}").json()["version"])
    edited = stack.admin("PUT", f"/proxies/{pid}", json={"name": pid, "guardrails": ["pii-redact"]})
    assert edited.status_code == 200, edited.text
    second = int(stack.admin("GET", f"/proxies/{pid}").json()["version"])
    assert second > first
    return first, second


def _redacted(stack: ConsoleStack, pid: str) -> bool:
    """One call with an e-mail address in it (it must succeed); whether the version that
    answered redacted it."""
    interaction = stack.chat(pid, f"write to jane.{uuid.uuid4().hex[:6]}@example.com")
    stack.wait_recorded([interaction])
    record = stack.admin("GET", f"/interactions/{interaction}").json()
    return bool(record["guardrail_actions"])


def _refused(stack: ConsoleStack, pid: str) -> None:
    with stack.client(pid) as client, pytest.raises(openai.NotFoundError) as refused:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.code == "proxy_not_deployed"
    assert "`default`" in refused.value.message


def _history(tab: Tab, rows: int) -> list[dict[str, str]]:
    """Until the history table has `rows` rows; each row's cells by column."""
    tab.page.wait_for_function(
        "n => document.querySelectorAll('#history tbody tr').length === n", arg=rows
    )
    found: list[dict[str, str]] = tab.page.eval_on_selector_all(
        "#history tbody tr",
        """rows => rows.map(r => ({
            id: r.dataset.deployment,
            action: r.querySelector('td.action').textContent,
            version: r.querySelector('td.version').textContent,
            status: r.querySelector('td.status').textContent,
            tags: [...r.querySelectorAll('td.tags .tag')].map(t => t.textContent).join(' '),
            rollback: r.querySelector('button.rollback') ? 'yes' : 'no',
        }))""",
    )
    return found


def test_deploy_and_stop_a_proxy_and_see_calls_to_it_start_and_stop(
    stack: ConsoleStack, tab: Tab
) -> None:
    pid = f"deploy-{uuid.uuid4().hex[:6]}"
    first, second = _two_versions(stack, pid)
    # Never deployed: it runs its newest version everywhere.
    assert _redacted(stack, pid)
    tab.sign_in(ADMIN)
    tab.go("#/proxies", f"#proxies tr[data-proxy='{pid}'] a.deploy")
    tab.page.click(f"#proxies tr[data-proxy='{pid}'] a.deploy")
    tab.page.wait_for_selector("#deploy-form")
    assert tab.page.inner_text("#deploy-proxy") == pid
    assert "Not managed yet" in tab.page.inner_text("#deploy-where")
    assert tab.page.locator("#history-empty").count() == 1
    assert tab.page.input_value("#deploy-gateway") == "default"

    # Deploy the first version, picked from its versions: it runs, without the guardrail.
    tab.page.select_option("#deploy-version", str(first))
    tab.page.click("#deploy-submit")
    (deployed,) = _history(tab, 1)
    assert deployed["action"] == "deploy"
    assert deployed["version"] == f"v{first}"
    assert deployed["tags"] == "Deployed"  # not the newest version
    assert f"Deployed v{first} on default" in tab.page.inner_text("#deploy-result")
    assert not _redacted(stack, pid)

    # Stop it on the gateway: the next call is refused.
    tab.page.click("#running tr[data-gateway='default'] button.stop")
    stopped, _ = _history(tab, 2)
    assert (stopped["action"], stopped["status"], stopped["tags"]) == ("stop", "stopped", "")
    assert "Deployed nowhere" in tab.page.inner_text("#deploy-where")
    _refused(stack, pid)

    # Deploy again, the newest version: calls start again, with the guardrail.
    tab.page.select_option("#deploy-version", "")
    tab.page.click("#deploy-submit")
    again, stopped, deployed = _history(tab, 3)
    assert (again["version"], again["status"], again["tags"]) == (
        f"v{second}",
        "deployed",
        "Latest Deployed",
    )
    assert again["rollback"] == "no"  # it runs already
    assert stopped["rollback"] == "no"  # a stop has nothing to roll back to
    assert deployed["status"] == "superseded"
    assert _redacted(stack, pid)

    # Roll back from the first deployment's row: the first version runs again.
    tab.page.click(f"#history tr[data-deployment='{deployed['id']}'] button.rollback")
    rolled, again, _, _ = _history(tab, 4)
    assert rolled["action"] == f"rollback of #{deployed['id']}"
    assert (rolled["version"], rolled["status"], rolled["tags"]) == (
        f"v{first}",
        "deployed",
        "Deployed",
    )
    assert (again["status"], again["tags"], again["rollback"]) == ("superseded", "Latest", "yes")
    assert f"Rolled back to v{first} on default" in tab.page.inner_text("#deploy-result")
    assert not _redacted(stack, pid)
    # What runs already cannot be deployed again: the page says why, and nothing is written.
    tab.page.select_option("#deploy-version", str(first))
    tab.page.click("#deploy-submit")
    tab.page.wait_for_selector("#deploy-result [role=alert]")
    assert "already deployed" in tab.page.inner_text("#deploy-result")
    # The history the API keeps is the one the page shows.
    api = stack.admin("GET", f"/proxies/{pid}/deployments").json()
    assert [str(d["id"]) for d in api["data"]] == [
        rolled["id"],
        again["id"],
        stopped["id"],
        deployed["id"],
    ]
    tab.shot("deployments")

    # The gateways: this replica is live, and its gateway serves the rolled-back version.
    tab.page.click("text=← All gateways")
    card = "#gateways [data-gateway='default']"
    tab.page.wait_for_selector(f"{card} tr[data-proxy='{pid}']")
    assert tab.page.inner_text("#this-gateway") == "default"
    assert tab.page.inner_text(f"{card} .live-replicas") == "1 live replica(s)"
    assert tab.page.locator(f"{card} table.replicas .tag.live").count() == 1
    served = tab.page.locator(f"{card} tr[data-proxy='{pid}']")
    assert served.locator("td.version").inner_text() == f"v{first}"
    assert served.locator(".tag.latest").count() == 0
    assert served.inner_text().strip().endswith(f"#{rolled['id']}")
    # Proxies never deployed still run everywhere, at their newest version.
    default = tab.page.locator(f"{card} tr[data-proxy='default']")
    assert "everywhere" in default.inner_text()
    tab.shot("deployments-gateways")


def test_the_viewer_sees_deployments_without_write_buttons(stack: ConsoleStack, tab: Tab) -> None:
    pid = f"viewed-{uuid.uuid4().hex[:6]}"
    first, _ = _two_versions(stack, pid)
    made = stack.admin("POST", f"/proxies/{pid}/deployments", json={"gateway": "default"})
    assert made.status_code == 201, made.text
    older = {"gateway": "default", "version": first}
    assert stack.admin("POST", f"/proxies/{pid}/deployments", json=older).status_code == 201
    tab.sign_in(VIEWER)
    tab.go("#/proxies", f"#proxies tr[data-proxy='{pid}'] a.deploy")
    assert tab.page.inner_text(f"#proxies tr[data-proxy='{pid}'] a.deploy") == "Deployments"
    tab.page.click(f"#proxies tr[data-proxy='{pid}'] a.deploy")
    tab.page.wait_for_selector("#history tbody tr")
    rows = _history(tab, 2)
    assert [r["tags"] for r in rows] == ["Deployed", "Latest"]
    assert tab.page.locator("#running tr[data-gateway='default']").count() == 1
    assert tab.page.locator("#deploy-form, button.stop, button.rollback").count() == 0
    tab.shot("deployments-viewer")
    # With the session's CSRF token, the API still refuses the viewer's writes.
    base = f"/admin/v1/proxies/{pid}/deployments"
    assert tab.fetch("POST", base, {"gateway": "default"}) == 403
    assert tab.fetch("DELETE", f"{base}/default") == 403
    assert tab.fetch("POST", f"{base}/{rows[1]['id']}/rollback") == 403
    assert len(stack.admin("GET", f"/proxies/{pid}/deployments").json()["data"]) == 2
    tab.go("#/deployments", "#gateways [data-gateway='default']")
    links = tab.page.locator("#deploy-proxies a.deploy").all_inner_texts()
    assert links
    assert set(links) == {"Deployments"}


def test_the_history_loads_older_records_on_demand(stack: ConsoleStack, tab: Tab) -> None:
    pid = f"paged-{uuid.uuid4().hex[:6]}"
    versions = _two_versions(stack, pid)
    # 52 records, alternating the two versions: one page of 50 and two more.
    made = [
        stack.admin(
            "POST", f"/proxies/{pid}/deployments", json={"gateway": "default", "version": v}
        ).json()["id"]
        for v in versions * 26
    ]
    tab.sign_in(VIEWER)
    tab.go(f"#/deployments/{pid}", "#history tbody tr")
    assert [int(r["id"]) for r in _history(tab, 50)] == made[::-1][:50]
    tab.page.click("#history-more")
    assert [int(r["id"]) for r in _history(tab, 52)] == made[::-1]
    assert tab.page.locator("#history-more").is_hidden()
