"""`palisade keys create | list | revoke`: virtual keys in the configured SQLite store, without
a running gateway. Workers pick the change up within a poll (`identity.sync_interval_s`)."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import Any

import orjson

from palisade.config import Config, ConfigError, load_config
from palisade.store import keys
from palisade.store.sqlite import connect

# palisade.identity.runtime is imported where it is used: `palisade serve` builds this parser
# before it sets up multiprocess metrics, and that module defines counters.


def add_commands(commands: Any) -> None:
    group = commands.add_parser("keys", help="create, list and revoke virtual API keys")
    group.add_argument("--config", default="palisade.yaml", help="path to palisade.yaml")
    sub = group.add_subparsers(dest="keys_command", required=True)

    create = sub.add_parser("create", help="create a key; its secret is printed once")
    create.add_argument("--proxy", required=True, help="the LLM proxy id the key may call")
    create.add_argument("--name", required=True, help="a name for people")
    create.add_argument("--expires", help="30d, 12h, 90m or an ISO date (default: never)")
    create.add_argument("--user", help="the user the key acts for (wins over User-Id)")
    create.add_argument(
        "--provider",
        action="append",
        default=[],
        help="a provider whose credentials the key may use (repeatable; default: any)",
    )
    create.add_argument("--rpm", type=int, help="requests per minute")
    create.add_argument("--tpm", type=int, help="tokens per minute")
    create.add_argument("--budget-usd", type=float, help="spend limit in USD")
    create.add_argument("--budget-period", choices=("day", "month"), help="budget period")
    create.set_defaults(run=_create)

    listing = sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--proxy", help="only the keys of this proxy")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=_list)

    revoke = sub.add_parser("revoke", help="revoke a key (all workers refuse it within seconds)")
    revoke.add_argument("id", help="the key id (the part after `pal-`)")
    revoke.set_defaults(run=_revoke)

    # `--config` after the subcommand works too (`palisade keys create --config ...`).
    for parser in (create, listing, revoke):
        parser.add_argument("--config", default=argparse.SUPPRESS, help="path to palisade.yaml")


def _open(args: argparse.Namespace) -> tuple[Config, sqlite3.Connection] | None:
    """The config and an open store, or None once the problem is printed."""
    from palisade.identity.runtime import SCHEMAS

    try:
        config = load_config(args.config)
        return config, connect(config.store.sqlite_path, SCHEMAS)
    except ConfigError as exc:
        print(f"palisade: {exc}", file=sys.stderr)
        return None
    except sqlite3.Error as exc:
        print(
            f"palisade: store.sqlite_path: cannot open {config.store.sqlite_path!r}: {exc}",
            file=sys.stderr,
        )
        return None


def _create(args: argparse.Namespace) -> int:
    opened = _open(args)
    if opened is None:
        return 2
    config, conn = opened
    from palisade.identity.runtime import seed_proxies

    try:
        current = seed_proxies(conn, config)
        ids = [p["id"] for p in current.proxies]
        if args.proxy not in ids:
            print(
                f"palisade: no LLM proxy has the id {args.proxy!r} (known: {', '.join(ids)})",
                file=sys.stderr,
            )
            return 2
        known = {p.name for p in config.providers}
        for name in args.provider:
            if name not in known:
                print(f"palisade: no provider is named {name!r}", file=sys.stderr)
                return 2
        try:
            expires_at = None if args.expires is None else keys.parse_expiry(args.expires)
            limits = keys.parse_limits(
                {
                    "rpm": args.rpm,
                    "tpm": args.tpm,
                    "budget_usd": args.budget_usd,
                    "budget_period": args.budget_period,
                }
            )
        except ValueError as exc:
            print(f"palisade: {exc}", file=sys.stderr)
            return 2
        key, token = keys.create(
            conn,
            proxy_id=args.proxy,
            name=args.name,
            expires_at=expires_at,
            user_id=args.user,
            providers=tuple(args.provider),
            limits=limits,
        )
    finally:
        conn.close()
    print(f"id:      {key.id}")
    print(f"proxy:   {key.proxy_id}")
    print(f"expires: {key.public()['expires_at'] or 'never'}")
    print(f"key:     {token}")
    print("Store the key now: it is shown once and cannot be recovered.", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    opened = _open(args)
    if opened is None:
        return 2
    _, conn = opened
    try:
        found = keys.listing(conn, args.proxy)
    finally:
        conn.close()
    if args.json:
        for key in found:
            print(orjson.dumps(key.public()).decode())
        return 0
    print(f"{'id':<14}{'proxy':<20}{'name':<24}{'expires':<27}status")
    for key in found:
        p = key.public()
        status = "revoked" if key.revoked_at is not None else "active"
        print(
            f"{key.id:<14}{key.proxy_id:<20}{key.name[:23]:<24}{p['expires_at'] or '-':<27}{status}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    opened = _open(args)
    if opened is None:
        return 2
    _, conn = opened
    try:
        key = keys.revoke(conn, args.id.removeprefix("pal-"))
    finally:
        conn.close()
    if key is None:
        print(f"palisade: there is no key {args.id!r}", file=sys.stderr)
        return 1
    print(f"revoked {key.id} ({key.name}, proxy {key.proxy_id})")
    return 0
