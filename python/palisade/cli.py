"""`palisade serve | mock-upstream | keys | logs | gateways | proxies | config check | config
schema`."""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from palisade import __version__
from palisade.config import Config, ConfigError, StoreConfig, load_config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="palisade", description="Security gateway for LLM traffic."
    )
    parser.add_argument("--version", action="version", version=f"palisade {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", required=True, help="path to palisade.yaml")
    serve.add_argument("--host", help="bind address (overrides server.host)")
    serve.add_argument("--port", type=int, help="port (overrides server.port)")
    serve.add_argument("--workers", type=int, help="worker processes (overrides server.workers)")
    serve.set_defaults(run=_serve)

    logs = commands.add_parser(
        "logs",
        help="show the interaction log",
        description="Recent interactions, newest last; `palisade logs show ID` prints one.",
    )
    logs.add_argument("show", nargs="*", metavar="show ID", help="print one interaction in full")
    logs.add_argument("--config", help="palisade.yaml, for store.sqlite_path")
    logs.add_argument("--db", help="the SQLite file (default: store.sqlite_path or palisade.db)")
    for name in ("agent-id", "user-id", "session-id", "execution-id", "proxy", "model"):
        logs.add_argument(f"--{name}")
    logs.add_argument("--status", type=int, help="HTTP status the client got")
    logs.add_argument("--since", help="an age (30s, 15m, 1h, 7d) or a time (ISO 8601)")
    logs.add_argument("--limit", type=int, default=50, help="rows (default 50)")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new rows")
    logs.set_defaults(run=_logs)

    config = commands.add_parser("config", help="check palisade.yaml or print its JSON Schema")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser(
        "check",
        help="validate a config file",
        description="Exit 0 with one line if FILE is valid, else exit 2 with every error.",
    )
    check.add_argument("file", metavar="FILE", help="path to palisade.yaml")
    check.set_defaults(run=_config_check)
    schema = config_commands.add_parser(
        "schema", help="print the JSON Schema of palisade.yaml (for editors)"
    )
    schema.set_defaults(run=_config_schema)

    from palisade.mock import server as mock_server

    mock = commands.add_parser("mock-upstream", help="run the mock OpenAI-compatible provider")
    mock_server.add_arguments(mock)
    mock.set_defaults(run=_mock_upstream)

    from palisade import keys_cli

    keys_cli.add_commands(commands)

    from palisade import deploy_cli

    deploy_cli.add_commands(commands)

    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


def _mock_upstream(args: argparse.Namespace) -> int:
    from palisade.mock import server as mock_server

    mock_server.main(args)
    return 0


def _config_failed(exc: ConfigError) -> int:
    for line in str(exc).splitlines():
        print(f"palisade: {line}", file=sys.stderr)
    return 2


def _load(path: str | Path) -> Config:
    """The file, and the checks that need the routing built (fallback chains that resolve)."""
    from palisade.upstream.groups import Routing
    from palisade.upstream.routing import Router

    config = load_config(path)
    Routing(config, Router(config.providers))
    return config


def _config_check(args: argparse.Namespace) -> int:
    try:
        config = _load(args.file)
    except ConfigError as exc:
        return _config_failed(exc)
    print(
        f"{args.file}: OK ({len(config.providers)} providers, {len(config.proxies)} proxies, "
        f"{len(config.guardrails)} guardrails)"
    )
    return 0


def _config_schema(args: argparse.Namespace) -> int:
    import json

    from palisade.config.schema import config_schema

    print(json.dumps(config_schema(), indent=2, ensure_ascii=False))
    return 0


def _logs(args: argparse.Namespace) -> int:
    from palisade import logs_cli

    db = args.db
    if db is None:
        if args.config is not None:
            try:
                db = load_config(args.config).store.sqlite_path
            except ConfigError as exc:
                return _config_failed(exc)
        else:
            db = StoreConfig().sqlite_path
    return logs_cli.run(args, db)


def _serve(args: argparse.Namespace) -> int:
    path = Path(args.config).resolve()
    try:
        config = _load(path)
    except ConfigError as exc:
        return _config_failed(exc)
    workers = args.workers or config.server.workers
    if workers < 1:
        print("palisade: --workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and not config.store.redis_url:
        print(
            f"palisade: {workers} workers need shared state: rate limits, budgets and dedup "
            "live in process without Redis, so each worker would enforce them on its own. "
            f"Set store.redis_url in {path.name} (e.g. redis://127.0.0.1:6379/0), or run one "
            "worker.",
            file=sys.stderr,
        )
        return 2
    os.environ["PALISADE_CONFIG"] = str(path)
    # Set before anything imports prometheus_client (the store's modules define counters, and
    # workers may be forked from this process): every worker then keeps its metric values in
    # files here, and /metrics adds up all workers. A fresh directory per run, so no stale
    # values of an earlier run are counted.
    metrics_dir = tempfile.mkdtemp(prefix="palisade-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        from palisade.identity.runtime import prepare_store

        try:
            prepare_store(config)
        except sqlite3.Error as exc:
            print(
                f"palisade: {config.source}: store.sqlite_path: cannot open "
                f"{config.store.sqlite_path!r}: {exc}",
                file=sys.stderr,
            )
            return 2
        from palisade import supervisor

        supervisor.serve(
            config.server,
            args.host or config.server.host,
            args.port if args.port is not None else config.server.port,
            workers,
            logging=config.logging,
            metrics=config.metrics,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
