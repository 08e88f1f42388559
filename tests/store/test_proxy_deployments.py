from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from palisade import deploy
from palisade.store import proxies, proxy_deployments
from palisade.store.proxy_deployments import DeploymentError
from palisade.store.sqlite import connect, counters


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(str(tmp_path / "t.db"), [proxies.SCHEMA, proxy_deployments.SCHEMA])
    proxies.seed(c, [proxy("default"), proxy("p")])  # version 1
    yield c
    c.close()


def proxy(pid: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": pid, "description": "", "guardrails": [], **extra}


def served(conn: sqlite3.Connection, gateway: str) -> dict[str, str]:
    """Each served proxy's description (what differs between versions here)."""
    latest = proxies.current(conn)
    assert latest is not None
    running, _ = proxy_deployments.serving(conn, gateway, latest.proxies)
    return {p["id"]: p["description"] for p in running}


def refused(code: str, fn: Any, *args: Any, **kw: Any) -> str:
    with pytest.raises(DeploymentError) as caught:
        fn(*args, **kw)
    assert caught.value.code == code
    return str(caught.value)


def test_a_proxy_without_records_runs_everywhere_and_the_first_deploy_pins_it_to_a_gateway(
    conn: sqlite3.Connection,
) -> None:
    assert served(conn, "default") == served(conn, "edge") == {"default": "", "p": ""}
    d = proxy_deployments.deploy(conn, "ann", "p", "edge")
    assert (d.proxy_id, d.gateway, d.action, d.version, d.who) == ("p", "edge", "deploy", 1, "ann")
    assert served(conn, "edge") == {"default": "", "p": ""}
    assert served(conn, "default") == {"default": ""}  # managed now: only where deployed
    latest = proxies.current(conn)
    assert latest is not None
    _, absent = proxy_deployments.serving(conn, "default", latest.proxies)
    assert absent == {"p"}
    assert counters(conn)[proxy_deployments.TOPIC] == 1


def test_a_deployment_pins_the_version_and_editing_the_proxy_changes_nothing_until_redeployed(
    conn: sqlite3.Connection,
) -> None:
    proxy_deployments.deploy(conn, "ann", "p", "default")
    proxies.put(conn, "ann", proxy("p", description="two"), create=False)  # version 2
    assert served(conn, "default")["p"] == ""
    second = proxy_deployments.deploy(conn, "ann", "p", "default")
    assert second.version == 2
    assert served(conn, "default")["p"] == "two"
    back = proxy_deployments.deploy(conn, "ann", "p", "default", 1)
    assert back.version == 1
    assert served(conn, "default")["p"] == ""


def test_a_set_version_in_which_the_proxy_did_not_change_pins_its_own_version(
    conn: sqlite3.Connection,
) -> None:
    proxies.put(conn, "ann", proxy("other"), create=True)  # version 2; p still at 1
    d = proxy_deployments.deploy(conn, "ann", "p", "default", 2)
    assert d.version == 1


def test_stop_and_rollback(conn: sqlite3.Connection) -> None:
    first = proxy_deployments.deploy(conn, "ann", "p", "default")
    proxies.put(conn, "ann", proxy("p", description="two"), create=False)
    proxy_deployments.deploy(conn, "bob", "p", "default")
    stopped = proxy_deployments.stop(conn, "bob", "p", "default")
    assert (stopped.action, stopped.version) == ("stop", None)
    assert "p" not in served(conn, "default")
    again = proxy_deployments.rollback(conn, "cy", first.id)
    assert (again.action, again.version, again.rollback_of) == ("rollback", 1, first.id)
    assert served(conn, "default")["p"] == ""
    history = proxy_deployments.history(conn, "p")
    assert [d.action for d in history] == ["rollback", "stop", "deploy", "deploy"]


def test_refusals(conn: sqlite3.Connection) -> None:
    assert "`nope`" in refused("proxy_not_found", proxy_deployments.deploy, conn, "a", "nope", "g")
    assert "no version 9" in refused(
        "unknown_version", proxy_deployments.deploy, conn, "a", "p", "g", 9
    )
    refused("invalid_gateway", proxy_deployments.deploy, conn, "a", "p", "Edge!")
    refused("invalid_gateway", proxy_deployments.stop, conn, "a", "p", "-x")
    d = proxy_deployments.deploy(conn, "a", "p", "g")
    assert f"deployment {d.id}" in refused(
        "already_deployed", proxy_deployments.deploy, conn, "a", "p", "g"
    )
    # Managed now, and never deployed on `other`: nothing to stop there.
    refused("not_deployed", proxy_deployments.stop, conn, "a", "p", "other")
    stop = proxy_deployments.stop(conn, "a", "p", "g")
    refused("not_deployed", proxy_deployments.stop, conn, "a", "p", "g")
    refused("nothing_to_roll_back", proxy_deployments.rollback, conn, "a", stop.id)
    refused("deployment_not_found", proxy_deployments.rollback, conn, "a", 999)
    proxies.delete(conn, "a", "p")
    refused("proxy_not_found", proxy_deployments.rollback, conn, "a", d.id)
    # A refused change writes nothing and counts nothing.
    assert len(proxy_deployments.history(conn, "p")) == 2
    assert counters(conn)[proxy_deployments.TOPIC] == 2


def test_the_config_check_refuses_a_definition_that_cannot_run(conn: sqlite3.Connection) -> None:
    message = refused(
        "invalid_proxy",
        proxy_deployments.deploy,
        conn,
        "a",
        "p",
        "g",
        check=lambda raw: "guardrails: no guardrail `x`" if raw["id"] == "p" else None,
    )
    assert "version 1 of `p` cannot run with this config" in message
    assert proxy_deployments.history(conn, "p") == []


def test_stopping_an_unmanaged_proxy_stops_it_everywhere(conn: sqlite3.Connection) -> None:
    proxy_deployments.stop(conn, "a", "p", "default")
    assert "p" not in served(conn, "default")
    assert "p" not in served(conn, "edge")


def test_a_deleted_proxy_is_served_nowhere_whatever_its_deployments(
    conn: sqlite3.Connection,
) -> None:
    proxy_deployments.deploy(conn, "a", "p", "default")
    proxies.delete(conn, "a", "p")
    assert served(conn, "default") == {"default": ""}


def test_history_tags_and_gateway_listing(conn: sqlite3.Connection) -> None:
    one = proxy_deployments.deploy(conn, "a", "p", "default")
    proxies.put(conn, "a", proxy("p", description="two"), create=False)  # version 2
    two = proxy_deployments.deploy(conn, "a", "p", "edge")
    proxy_deployments.report(conn, "host:1", "edge", 100.0)
    found = deploy.history(conn, "p")
    assert found is not None
    assert (found["latest_version"], found["everywhere"]) == (2, False)
    assert found["gateways"] == [
        {"gateway": "default", "version": 1, "deployment": one.id},
        {"gateway": "edge", "version": 2, "deployment": two.id},
    ]
    tags = {r["id"]: (r["status"], r["deployed"], r["latest"]) for r in found["data"]}
    assert tags == {one.id: ("deployed", True, False), two.id: ("deployed", True, True)}
    listing = deploy.gateways(conn, "default")
    by_name = {g["name"]: g for g in listing["data"]}
    assert set(by_name) == {"default", "edge"}
    assert [r["id"] for r in by_name["edge"]["replicas"]] == ["host:1"]
    assert by_name["edge"]["live_replicas"] == 1
    assert {p["proxy"]: (p["version"], p["everywhere"]) for p in by_name["default"]["proxies"]} == {
        "default": (1, True),
        "p": (1, False),
    }
    unmanaged = deploy.history(conn, "default")
    assert unmanaged is not None
    assert (unmanaged["everywhere"], unmanaged["data"]) == (True, [])
    assert deploy.history(conn, "never") is None


def test_proxy_versions_lists_each_change_of_one_proxy(conn: sqlite3.Connection) -> None:
    proxies.put(conn, "ann", proxy("p", description="two"), create=False)  # 2
    proxies.put(conn, "ann", proxy("q"), create=True)  # 3: p unchanged
    proxies.rollback(conn, "bob", 1)  # 4: p back to its version-1 definition
    found = proxy_deployments.proxy_versions(conn, "p")
    assert [(v["version"], v["who"], v["action"]) for v in found] == [
        (4, "bob", "rollback to 1"),
        (2, "ann", "update"),
        (1, "palisade.yaml", "seed"),
    ]
    assert proxy_deployments.proxy_versions(conn, "none") == []
