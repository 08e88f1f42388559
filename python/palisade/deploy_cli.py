"""`palisade gateways list` and `palisade proxies deploy | stop | deployments | versions |
rollback`: deployments in the configured SQLite store, like `palisade keys`, without a running
gateway or an admin token (whoever can write the store file can change what runs). Every
replica picks a change up within a poll (`identity.sync_interval_s`)."""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

import orjson

from palisade import deploy
from palisade.config import Config, ConfigError, load_config
from palisade.store import proxy_deployments as store
from palisade.store.proxy_deployments import Deployment, DeploymentError
from palisade.store.sqlite import connect

# palisade.identity.runtime is imported where it is used: `palisade serve` builds this parser
# before it sets up multiprocess metrics, and that module defines counters.


def add_commands(commands: Any) -> None:
    gateways = commands.add_parser("gateways", help="the gateways and what runs on each")
    gateways.add_argument("--config", default="palisade.yaml", help="path to palisade.yaml")
    gateways_sub = gateways.add_subparsers(dest="gateways_command", required=True)
    listing = gateways_sub.add_parser(
        "list", help="gateways, their replicas and the LLM proxies deployed there"
    )
    listing.add_argument("--json", action="store_true", help="the admin API's JSON")
    listing.set_defaults(run=_gateways)

    group = commands.add_parser("proxies", help="deploy LLM proxies to gateways, stop, roll back")
    group.add_argument("--config", default="palisade.yaml", help="path to palisade.yaml")
    sub = group.add_subparsers(dest="proxies_command", required=True)

    deploy_cmd = sub.add_parser(
        "deploy", help="run a version of a proxy (default: its newest) on a gateway"
    )
    deploy_cmd.add_argument("proxy", help="the LLM proxy id")
    deploy_cmd.add_argument("--gateway", help="the gateway (default: the config's server.gateway)")
    deploy_cmd.add_argument("--version", type=int, help="the proxy version (default: newest)")
    deploy_cmd.set_defaults(run=_deploy)

    stop = sub.add_parser("stop", help="stop a proxy on a gateway (its calls get 404)")
    stop.add_argument("proxy", help="the LLM proxy id")
    stop.add_argument("--gateway", help="the gateway (default: the config's server.gateway)")
    stop.set_defaults(run=_stop)

    history = sub.add_parser("deployments", help="a proxy's deployment history, newest first")
    history.add_argument("proxy", help="the LLM proxy id")
    history.add_argument("--limit", type=int, default=50, help="rows (default 50)")
    history.add_argument("--json", action="store_true", help="the admin API's JSON")
    history.set_defaults(run=_history)

    versions = sub.add_parser("versions", help="a proxy's versions (each change), newest first")
    versions.add_argument("proxy", help="the LLM proxy id")
    versions.set_defaults(run=_versions)

    rollback = sub.add_parser(
        "rollback", help="deploy again what a deployment deployed, on its gateway"
    )
    rollback.add_argument("deployment", type=int, help="the deployment id (see `deployments`)")
    rollback.set_defaults(run=_rollback)

    # `--config` after the subcommand works too.
    for parser in (listing, deploy_cmd, stop, history, versions, rollback):
        parser.add_argument("--config", default=argparse.SUPPRESS, help="path to palisade.yaml")


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _open(args: argparse.Namespace) -> tuple[Config, sqlite3.Connection] | None:
    """The config and the store with the file's proxies seeded, or None once the problem is
    printed."""
    from palisade.identity.runtime import SCHEMAS, seed_guardrails, seed_proxies

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"palisade: {exc}", file=sys.stderr)
        return None
    try:
        conn = connect(config.store.sqlite_path, SCHEMAS)
        seed_guardrails(conn, config)
        seed_proxies(conn, config)
    except sqlite3.Error as exc:
        print(
            f"palisade: store.sqlite_path: cannot open {config.store.sqlite_path!r}: {exc}",
            file=sys.stderr,
        )
        return None
    return config, conn


def _checker(config: Config, conn: sqlite3.Connection) -> store.Check:
    from palisade.identity.runtime import current_guardrails

    return deploy.checker(config, current_guardrails(conn))


def _with_store(args: argparse.Namespace, fn: Callable[[Config, sqlite3.Connection], int]) -> int:
    opened = _open(args)
    if opened is None:
        return 2
    config, conn = opened
    try:
        return fn(config, conn)
    except DeploymentError as exc:
        print(f"palisade: {exc}", file=sys.stderr)
        # Nothing to do is not a failure: a pipeline may deploy the same version twice.
        return 0 if exc.code in ("already_deployed", "not_deployed") else 1
    finally:
        conn.close()


def _print_change(conn: sqlite3.Connection, d: Deployment) -> int:
    view = deploy.written(conn, d)
    what = "stopped" if d.action == "stop" else f"deployed version {d.version} of"
    print(f"deployment {d.id}: {what} {d.proxy_id} on the gateway {d.gateway}")
    if view["status"] != "stopped":
        print("every replica of the gateway runs it within seconds", file=sys.stderr)
    return 0


def _deploy(args: argparse.Namespace) -> int:
    def run(config: Config, conn: sqlite3.Connection) -> int:
        gateway = args.gateway or config.server.gateway
        d = store.deploy(
            conn, _who(), args.proxy, gateway, args.version, check=_checker(config, conn)
        )
        return _print_change(conn, d)

    return _with_store(args, run)


def _stop(args: argparse.Namespace) -> int:
    def run(config: Config, conn: sqlite3.Connection) -> int:
        gateway = args.gateway or config.server.gateway
        return _print_change(conn, store.stop(conn, _who(), args.proxy, gateway))

    return _with_store(args, run)


def _rollback(args: argparse.Namespace) -> int:
    def run(config: Config, conn: sqlite3.Connection) -> int:
        d = store.rollback(conn, _who(), args.deployment, check=_checker(config, conn))
        return _print_change(conn, d)

    return _with_store(args, run)


def _history(args: argparse.Namespace) -> int:
    def run(config: Config, conn: sqlite3.Connection) -> int:
        found = deploy.history(conn, args.proxy, max(1, args.limit))
        if found is None:
            print(f"palisade: no LLM proxy has the id {args.proxy!r}", file=sys.stderr)
            return 1
        if args.json:
            print(orjson.dumps(found).decode())
            return 0
        if found["everywhere"]:
            print(
                f"{args.proxy} has never been deployed or stopped: version "
                f"{found['latest_version']} runs on every gateway"
            )
        for g in found["gateways"]:
            print(f"runs on {g['gateway']}: version {g['version']} (deployment {g['deployment']})")
        print(
            f"{'id':<6}{'at':<27}{'gateway':<16}{'action':<10}{'version':<9}{'who':<20}"
            f"{'status':<12}tags"
        )
        for r in found["data"]:
            tags = " ".join(t.capitalize() for t in ("deployed", "latest") if r[t])
            version = "-" if r["version"] is None else str(r["version"])
            print(
                f"{r['id']:<6}{r['at']:<27}{r['gateway'][:15]:<16}{r['action']:<10}"
                f"{version:<9}{r['who'][:19]:<20}{r['status']:<12}{tags}".rstrip()
            )
        return 0

    return _with_store(args, run)


def _versions(args: argparse.Namespace) -> int:
    def run(config: Config, conn: sqlite3.Connection) -> int:
        found = store.proxy_versions(conn, args.proxy)
        if not found:
            print(f"palisade: no LLM proxy has the id {args.proxy!r}", file=sys.stderr)
            return 1
        print(f"{'version':<9}{'at':<27}{'who':<20}action")
        for v in found:
            print(f"{v['version']:<9}{v['at']:<27}{v['who'][:19]:<20}{v['action']}")
        return 0

    return _with_store(args, run)


def _gateways(args: argparse.Namespace) -> int:
    def run(config: Config, conn: sqlite3.Connection) -> int:
        found = deploy.gateways(conn, config.server.gateway)
        if args.json:
            print(orjson.dumps(found).decode())
            return 0
        for g in found["data"]:
            replicas = len(g["replicas"])
            print(f"{g['name']}  ({g['live_replicas']} live of {replicas} replicas seen)")
            for p in g["proxies"]:
                how = "everywhere" if p["everywhere"] else f"deployment {p['deployment']}"
                latest = ", latest" if p["latest"] else ""
                print(f"  {p['proxy']:<24}version {p['version']:<6}({how}{latest})")
        return 0

    return _with_store(args, run)
