"""What identity holds per worker (the store, the caches, the JWKS cache, the failure limiter),
how it starts (seed the guardrails and proxies from the file, load the current sets) and how it
follows other processes' changes: a background task polls the store's change counters about
once a second, in the store's thread, and applies what changed, so a revoked key, an edited
proxy or an edited guardrail reaches every worker within seconds, without a restart."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from palisade.config import (
    Config,
    ConfigError,
    Guardrail,
    JwtConfig,
    guardrail_to_dict,
    parse_guardrail,
    parse_proxy,
    proxy_to_dict,
)
from palisade.deploy import replica_id
from palisade.guardrails.policy import ProxyGuards
from palisade.identity.directory import Directory
from palisade.identity.failures import FailedAuthLimiter
from palisade.identity.jwks import JwksCache
from palisade.store import clients, guardrails, keys, proxies, proxy_deployments
from palisade.store.sqlite import Database, connect, counters

log = logging.getLogger("palisade.identity")

SCHEMAS = (
    keys.SCHEMA,
    clients.SCHEMA,
    proxies.SCHEMA,
    proxy_deployments.SCHEMA,
    guardrails.SCHEMA,
)


@dataclass
class Identity:
    config: Config
    db: Database
    directory: Directory
    jwks: JwksCache
    failures: FailedAuthLimiter
    # The store's current guardrail set, by name; proxies attach them by name.
    guardrails: Mapping[str, Guardrail] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    # One refresh at a time (the poller and an admin write): an older read never lands last.
    refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)
    # JWTs that verified, until their `exp`: (proxy's jwt settings, token) -> (exp, user).
    # A signature check costs ~0.1 ms; agents send the same token many times.
    verified_jwts: dict[tuple[JwtConfig, str], tuple[float, str]] = field(default_factory=dict)
    # Current proxies this replica's gateway (`server.gateway`) does not run: their calls get
    # `proxy_not_deployed` rather than `proxy_not_found`.
    undeployed: frozenset[str] = frozenset()
    # This replica's id in `gateway_replicas`, its start and last report (monotonic).
    replica: str = ""
    started_at: float = field(default_factory=time.time)
    reported: float = 0.0


def open_store(config: Config) -> Database:
    return Database(config.store.sqlite_path, SCHEMAS)


def seed_proxies(conn: sqlite3.Connection, config: Config) -> proxies.Version:
    """Writes the file's proxies into the store when they changed; returns the current set."""
    proxies.seed(conn, [proxy_to_dict(p) for p in config.proxies])
    latest = proxies.current(conn)
    assert latest is not None  # the seed wrote one at the latest
    return latest


def seed_guardrails(conn: sqlite3.Connection, config: Config) -> dict[str, Guardrail]:
    """Writes the file's guardrails into the store when they changed; returns the current
    set."""
    guardrails.seed(conn, [guardrail_to_dict(g) for g in config.guardrails.values()])
    return current_guardrails(conn)


def current_guardrails(conn: sqlite3.Connection) -> dict[str, Guardrail]:
    """The store's current guardrails, compiled. A stored one that no longer validates (a
    newer file format, an entity kind this build lacks) is left out and logged: the proxies
    that attach it then fail closed (build_proxies)."""
    latest = guardrails.current(conn)
    out: dict[str, Guardrail] = {}
    for raw in [] if latest is None else latest.guardrails:
        try:
            out[raw["name"]] = parse_guardrail(raw, source="store")
        except ConfigError as exc:
            log.error("guardrail %r from the store is not used: %s", raw.get("name"), exc)
    return out


def prepare_store(config: Config) -> None:
    """Opens the store once before the workers start: creates the tables, seeds the
    guardrails and the proxies, and fails early (sqlite3.Error) when the file cannot be
    opened."""
    conn = connect(config.store.sqlite_path, SCHEMAS)
    try:
        seed_guardrails(conn, config)
        seed_proxies(conn, config)
    finally:
        conn.close()


def served(
    conn: sqlite3.Connection, config: Config, current: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], frozenset[str]]:
    """What this replica's gateway runs of the current set, each at its deployed version."""
    return proxy_deployments.serving(conn, config.server.gateway, current)


def build_proxies(
    config: Config,
    guardrail_set: Mapping[str, Guardrail],
    stored: list[dict[str, Any]],
    old: Mapping[str, ProxyGuards],
) -> dict[str, ProxyGuards]:
    """The guards of each stored proxy, compiled once: a proxy whose definition and attached
    guardrails did not change keeps its compiled guards (a ProxyConfig holds its guardrails'
    settings, so an edited guardrail makes it differ). A stored proxy that no longer fits (a
    guardrail it names is gone) is left out and logged: failing closed beats running it
    unguarded."""
    out: dict[str, ProxyGuards] = {}
    for raw in stored:
        try:
            definition = {k: v for k, v in raw.items() if k != "version"}
            proxy = parse_proxy(
                definition, guardrail_set, source="store", version=int(raw.get("version", 0))
            )
        except ConfigError as exc:
            log.error("proxy %r from the store is not served: %s", raw.get("id"), exc)
            continue
        previous = old.get(proxy.id)
        out[proxy.id] = (
            previous
            if previous is not None and previous.proxy == proxy
            else ProxyGuards.build(proxy, admin_tokens=config.admin.tokens)
        )
    return out


async def start(
    config: Config, session: aiohttp.ClientSession
) -> tuple[Identity, dict[str, ProxyGuards]]:
    db = open_store(config)
    replica, started_at = replica_id(), time.time()

    def load(
        conn: sqlite3.Connection,
    ) -> tuple[dict[str, int], dict[str, Guardrail], dict[str, ProxyGuards], frozenset[str]]:
        seen = counters(conn)  # read first: a change after this is picked up by the next poll
        guardrail_set = seed_guardrails(conn, config)
        latest = seed_proxies(conn, config)
        proxy_deployments.report(conn, replica, config.server.gateway, started_at)
        running, undeployed = served(conn, config, latest.proxies)
        return seen, guardrail_set, build_proxies(config, guardrail_set, running, {}), undeployed

    seen, guardrail_set, guards, undeployed = await db.run(load)
    settings = config.identity
    identity = Identity(
        config=config,
        db=db,
        directory=Directory(db),
        jwks=JwksCache(
            session,
            cache_s=settings.jwks_cache_s,
            refresh_min_s=settings.jwks_refresh_min_s,
            timeout_s=config.upstream.connect_timeout_s,
        ),
        failures=FailedAuthLimiter(settings.failed_auth_limit, settings.failed_auth_window_s),
        guardrails=guardrail_set,
        seen=seen,
        undeployed=undeployed,
        replica=replica,
        started_at=started_at,
        reported=time.monotonic(),
    )
    return identity, guards


class ProxyHolder(Protocol):
    """What a refresh updates: the proxies a worker serves (the gateway)."""

    proxies: dict[str, ProxyGuards]


async def refresh(gw: ProxyHolder, identity: Identity) -> None:
    """One poll: the counters, and the rows and proxies that changed since the last one."""
    async with identity.refreshing:
        await _refresh(gw, identity)


async def _refresh(gw: ProxyHolder, identity: Identity) -> None:
    seen = identity.seen
    old_guards = gw.proxies
    old_guardrails = identity.guardrails

    def read(
        conn: sqlite3.Connection,
    ) -> tuple[
        dict[str, int],
        list[keys.VirtualKey],
        list[clients.Client],
        Mapping[str, Guardrail],
        tuple[dict[str, ProxyGuards], frozenset[str]] | None,
    ]:
        now = counters(conn)
        if now == seen:
            return now, [], [], old_guardrails, None
        changed_keys = (
            keys.changed_since(conn, seen.get(keys.TOPIC, 0))
            if now.get(keys.TOPIC, 0) != seen.get(keys.TOPIC, 0)
            else []
        )
        changed_clients = (
            clients.changed_since(conn, seen.get(clients.TOPIC, 0))
            if now.get(clients.TOPIC, 0) != seen.get(clients.TOPIC, 0)
            else []
        )
        guardrail_set = old_guardrails
        if now.get(guardrails.TOPIC, 0) != seen.get(guardrails.TOPIC, 0):
            guardrail_set = current_guardrails(conn)
        guards = None
        topics = (proxies.TOPIC, proxy_deployments.TOPIC, guardrails.TOPIC)
        if any(now.get(t, 0) != seen.get(t, 0) for t in topics):
            latest = proxies.current(conn)
            running, undeployed = served(
                conn, identity.config, [] if latest is None else latest.proxies
            )
            built = build_proxies(identity.config, guardrail_set, running, old_guards)
            guards = built, undeployed
        return now, changed_keys, changed_clients, guardrail_set, guards

    now, changed_keys, changed_clients, guardrail_set, guards = await identity.db.run(read)
    identity.directory.apply(changed_keys, changed_clients)
    identity.guardrails = guardrail_set
    if guards is not None:
        gw.proxies, identity.undeployed = guards
    identity.seen = now


async def follow(gw: ProxyHolder, identity: Identity) -> None:
    """The background task: polls until cancelled; a failing poll is logged and retried."""
    interval = identity.config.identity.sync_interval_s
    while True:
        await asyncio.sleep(interval)
        try:
            await refresh(gw, identity)
            await _report(identity)
        except Exception:
            log.exception("cannot read changes from the store %s", identity.db.path)


async def _report(identity: Identity) -> None:
    """Tells the store, now and then, that this replica of its gateway is alive (the admin
    API's gateway list)."""
    if time.monotonic() - identity.reported < proxy_deployments.REPORT_EVERY_S:
        return
    identity.reported = time.monotonic()
    config = identity.config
    await identity.db.run(
        lambda conn: proxy_deployments.report(
            conn, identity.replica, config.server.gateway, identity.started_at
        )
    )
