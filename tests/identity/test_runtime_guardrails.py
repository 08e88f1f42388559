"""A worker's view of the store's guardrails (identity/runtime.py), with a real store: the file
seeds them, an edit in the store rebuilds only the proxies that attach the guardrail, a changed
file re-seeds, and a proxy whose guardrail is gone fails closed."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from palisade.config import (
    Config,
    Guardrail,
    ProxyConfig,
    ScanGuardrail,
    StoreConfig,
    guardrail_to_dict,
    parse_guardrail,
)
from palisade.gateway import Gateway
from palisade.identity import runtime
from palisade.identity.runtime import Identity
from palisade.store import guardrails, proxies
from palisade.store.sqlite import connect
from palisade.upstream.routing import Router


def scan(raw: dict[str, str]) -> ScanGuardrail:
    """As the file builds it (every entity kind spelled out)."""
    built = parse_guardrail(raw, source="test")
    assert isinstance(built, ScanGuardrail)
    return built


PII = scan({"name": "pii", "type": "pii", "direction": "request"})
SECRETS = scan({"name": "secrets", "type": "secrets", "action": "block"})


def config(tmp_path: Path, pii: Guardrail = PII) -> Config:
    return Config(
        guardrails={"pii": pii, "secrets": SECRETS},
        proxies=(
            ProxyConfig(id="with-pii", name="with-pii", guardrails=(pii,)),
            ProxyConfig(id="with-secrets", name="with-secrets", guardrails=(SECRETS,)),
        ),
        default_proxy=None,
        store=StoreConfig(sqlite_path=str(tmp_path / "t.db")),
    )


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    c = config(tmp_path)
    async with aiohttp.ClientSession() as session:
        ident, guards = await runtime.start(c, session)
        yield Gateway(config=c, router=Router(()), session=session, proxies=guards, identity=ident)
        await ident.db.close()


def identity(gw: Gateway) -> Identity:
    assert gw.identity is not None
    return gw.identity


async def write(gw: Gateway, fn: object) -> None:
    assert callable(fn)
    await identity(gw).db.run(fn)
    await runtime.refresh(gw, identity(gw))


async def test_an_edit_rebuilds_only_the_proxies_that_attach_the_guardrail(gw: Gateway) -> None:
    assert identity(gw).guardrails == {"pii": PII, "secrets": SECRETS}
    before = dict(gw.proxies)
    blocking = {**guardrail_to_dict(PII), "action": "block"}
    await write(gw, lambda conn: guardrails.put(conn, "admin", blocking, create=False))
    edited = dataclasses.replace(PII, action="block")
    assert identity(gw).guardrails["pii"] == edited
    assert gw.proxies["with-pii"].proxy.guardrails == (edited,)
    assert gw.proxies["with-pii"] is not before["with-pii"]
    assert gw.proxies["with-secrets"] is before["with-secrets"]  # compiled once, kept


async def test_a_proxy_whose_guardrail_is_gone_fails_closed(gw: Gateway) -> None:
    # The store refuses to delete an attached guardrail; a rollback past its creation by hand
    # (or a file that drops it) is what leaves a proxy naming a guardrail that is gone.
    def drop(conn: sqlite3.Connection) -> None:
        guardrails._SET.write(conn, "test", "delete", "pii", lambda old, n: old[1:])

    await write(gw, drop)
    assert set(identity(gw).guardrails) == {"secrets"}
    assert set(gw.proxies) == {"with-secrets"}


async def test_a_changed_file_reseeds_as_the_proxies_do(tmp_path: Path) -> None:
    first = config(tmp_path)
    conn = connect(first.store.sqlite_path, runtime.SCHEMAS)
    try:
        assert runtime.seed_guardrails(conn, first) == {"pii": PII, "secrets": SECRETS}
        flagging = {**guardrail_to_dict(SECRETS), "action": "flag"}
        guardrails.put(conn, "admin", flagging, create=False)
        mine = {**guardrail_to_dict(PII), "name": "mine"}
        guardrails.put(conn, "admin", mine, create=True)
        # An unchanged file writes nothing: the admin's edits stand.
        kept = runtime.seed_guardrails(conn, first)["secrets"]
        assert isinstance(kept, ScanGuardrail)
        assert kept.action == "flag"
        masked = dataclasses.replace(PII, action="mask")
        found = runtime.seed_guardrails(conn, config(tmp_path, masked))
        # A changed file writes what it changed (`pii` masked); what it lists unchanged keeps
        # the admin's edit (`secrets` flags), and what an admin made stays.
        flagged = dataclasses.replace(SECRETS, action="flag")
        assert found == {"pii": masked, "secrets": flagged, "mine": found["mine"]}
        assert [v.action for v in guardrails.versions(conn)] == [
            "seed",
            "create",
            "update",
            "seed",
        ]
        assert proxies.current(conn) is None  # seeding guardrails leaves the proxies alone
    finally:
        conn.close()
