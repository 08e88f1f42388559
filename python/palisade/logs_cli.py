"""`palisade logs`: the interaction log as a table, read straight from the SQLite file."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import orjson

from palisade.store.interactions import (
    Filters,
    get_interaction,
    list_interactions,
    parse_time,
    since_seq,
)

FOLLOW_INTERVAL_S = 1.0

# (header, width; 0 = takes the room left)
_COLUMNS = (
    ("TIME (UTC)", 23),
    ("ID", 28),
    ("PROXY", 10),
    ("AGENT", 14),
    ("SESSION", 14),
    ("MODEL", 18),
    ("STATUS", 6),
    ("IN", 7),
    ("OUT", 7),
    ("COST $", 10),
    ("MS", 8),
    ("GUARDRAILS", 0),
)


def run(args: argparse.Namespace, db: str, out: TextIO = sys.stdout) -> int:
    if args.show:
        if len(args.show) != 2 or args.show[0] != "show":
            print("palisade: usage: palisade logs show ID", file=sys.stderr)
            return 2
        return show(db, args.show[1], out)
    if args.limit < 1:
        print("palisade: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        since = parse_time(args.since) if args.since else None
    except ValueError:
        print("palisade: --since must be an age (30s, 15m, 1h, 7d) or a time", file=sys.stderr)
        return 2
    filters = Filters(
        agent_id=args.agent_id,
        user_id=args.user_id,
        session_id=args.session_id,
        execution_id=args.execution_id,
        proxy=args.proxy,
        model=args.model,
        status=args.status,
        since=since,
    )
    items, _ = list_interactions(db, filters, limit=args.limit)
    items.reverse()  # newest last, as a log reads
    print(_row([h for h, _ in _COLUMNS]), file=out)
    for item in items:
        print(_row(_cells(item)), file=out)
    out.flush()
    if not args.follow:
        if not items:
            print(f"(no interactions in {db})", file=out)
        return 0
    last = items[-1]["seq"] if items else _newest_seq(db)
    try:
        while True:
            time.sleep(FOLLOW_INTERVAL_S)
            for item in since_seq(db, filters, last):
                print(_row(_cells(item)), file=out)
                last = item["seq"]
            out.flush()
    except KeyboardInterrupt:
        return 0


def show(db: str, interaction_id: str, out: TextIO) -> int:
    item = get_interaction(db, interaction_id)
    if item is None:
        print(f"palisade: no interaction {interaction_id!r} in {db}", file=sys.stderr)
        return 1
    for key in ("request_body", "response_body"):
        body = item.get(key)
        # A stream, or a body cut at logging.max_body_bytes, stays text.
        if isinstance(body, str):
            with contextlib.suppress(orjson.JSONDecodeError):
                item[key] = orjson.loads(body)
    out.write(orjson.dumps(item, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _newest_seq(db: str) -> int:
    items, _ = list_interactions(db, Filters(), limit=1)
    return int(items[0]["seq"]) if items else 0


def _cells(item: dict[str, Any]) -> list[str]:
    cost = item["cost_usd"]
    status = str(item["status"])
    if item["error_code"]:
        status += "!"
    counted = "~" if item["tokens_counted"] else ""
    return [
        item["time"].replace("T", " ").rstrip("Z"),
        item["id"],
        item["proxy"] or "-",
        item["agent_id"] or "-",
        item["session_id"] or "-",
        item["served_model"] or item["model"] or "-",
        status,
        f"{counted}{item['input_tokens']}",
        f"{counted}{item['output_tokens']}",
        "?" if cost is None else f"{cost:.6f}",
        f"{item['latency_ms']:.0f}",
        ",".join(item["guardrail_actions"])
        + (f" {item['error_code']}" if item["error_code"] else ""),
    ]


def _row(cells: Sequence[str]) -> str:
    room = shutil.get_terminal_size((160, 24)).columns
    parts: list[str] = []
    for (_, width), cell in zip(_COLUMNS, cells, strict=True):
        if width == 0:
            used = sum(len(p) + 1 for p in parts)
            width = max(10, room - used)
        parts.append(cell[: width - 1] + "…" if len(cell) > width else cell.ljust(width))
    return " ".join(parts).rstrip()
