"""The interaction log over HTTP: `/admin/v1/interactions`, `/admin/v1/sessions` and the
dashboards' aggregates `/admin/v1/stats` (viewer)."""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from palisade.errors import BadRequest, NotFound
from palisade.gateway import Gateway
from palisade.routes.admin_auth import require_role
from palisade.store.interaction_stats import StatsQuery, catch_up, dashboard
from palisade.store.interactions import (
    BUSY_TIMEOUT_S,
    Filters,
    get_interaction,
    list_interactions,
    list_sessions,
    open_reader,
    parse_time,
    since_seq,
)

log = logging.getLogger("palisade.interactions")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_TEXT_FILTERS = ("agent_id", "user_id", "session_id", "execution_id", "proxy", "model")
_MIN_FILTERS = ("min_latency_ms", "min_cost_usd", "min_tokens")
_STATUS_CLASSES = ("2xx", "4xx", "5xx", "error")
_ACTIONS = ("block", "redact", "mask", "flag", "allow", "trust", "untrust")


def _gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    require_role(request, gw.config.admin, "viewer")
    return gw


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _time(value: str, param: str) -> float:
    try:
        return parse_time(value)
    except ValueError:
        raise BadRequest(
            f"Palisade: `{param}` must be unix seconds, an ISO 8601 time or an age like `1h`.",
            param=param,
        ) from None


def _filters(request: Request) -> Filters:
    q = request.query_params
    known = {
        *_TEXT_FILTERS,
        *_MIN_FILTERS,
        "status",
        "guardrail_action",
        "since",
        "until",
        "cursor",
        "limit",
        "after_seq",
    }
    for key in q:
        if key not in known:
            raise BadRequest(
                f"Palisade: unknown query parameter `{key[:64]}` "
                f"(known: {', '.join(sorted(known))}).",
                param=key[:64],
            )
    text: dict[str, Any] = {k: q[k] for k in _TEXT_FILTERS if q.get(k)}
    status = q.get("status")
    status_class = None
    if status in _STATUS_CLASSES:
        status_class, status = status, None
    elif status is not None and not (status.isdigit() and 100 <= int(status) <= 599):
        raise BadRequest(
            "Palisade: `status` must be an HTTP status code, `2xx`, `4xx`, `5xx` or `error`.",
            param="status",
        )
    action = q.get("guardrail_action")
    if action is not None and action not in _ACTIONS:
        raise BadRequest(
            f"Palisade: `guardrail_action` must be one of {', '.join(_ACTIONS)}.",
            param="guardrail_action",
        )
    return Filters(
        **text,
        status=int(status) if status is not None else None,
        guardrail_action=action,
        since=_time(q["since"], "since") if "since" in q else None,
        until=_time(q["until"], "until") if "until" in q else None,
        status_class=status_class,
        min_latency_ms=_number(q, "min_latency_ms"),
        min_cost_usd=_number(q, "min_cost_usd"),
        min_tokens=_number(q, "min_tokens"),
    )


def _number(q: QueryParams, param: str) -> float | None:
    value = q.get(param)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise BadRequest(f"Palisade: `{param}` must be a number, 0 or more.", param=param)
    return number


def _page(request: Request) -> tuple[str | None, int]:
    raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(
            f"Palisade: `limit` must be a whole number from 1 to {MAX_LIMIT}.", param="limit"
        )
    return request.query_params.get("cursor"), int(raw)


def _bad_cursor() -> BadRequest:
    return BadRequest(
        "Palisade: `cursor` is not one this API returned.", param="cursor", code="invalid_cursor"
    )


async def interactions(request: Request) -> Response:
    after = request.query_params.get("after_seq")
    if after is None:
        return await _listing(request, list_interactions)
    # The console's live tail: what was written after the newest record it shows.
    gw = _gateway(request)
    if not after.isdigit():
        raise BadRequest("Palisade: `after_seq` must be a record's `seq`.", param="after_seq")
    items = await run_in_threadpool(
        since_seq, gw.config.store.sqlite_path, _filters(request), int(after)
    )
    return _json({"object": "list", "data": items, "next_cursor": None})


async def stats(request: Request) -> Response:
    """The dashboards' aggregates (store/interaction_stats.py) over `since`..`until`."""
    gw = _gateway(request)
    q = request.query_params
    unknown = sorted(set(q) - {"since", "until", "proxy"})
    if unknown:
        raise BadRequest(
            f"Palisade: unknown query parameter `{unknown[0][:64]}` (known: proxy, since, until).",
            param=unknown[0][:64],
        )
    until = _time(q["until"], "until") if "until" in q else time.time()
    since = _time(q["since"], "since") if "since" in q else until - 86400
    if not until > since:
        raise BadRequest("Palisade: `since` must come before `until`.", param="since")
    query = StatsQuery(since=since, until=until, proxy=q.get("proxy") or None)
    return _json(await run_in_threadpool(_dashboard, gw.config.store.sqlite_path, query))


def _dashboard(path: str, query: StatsQuery) -> dict[str, Any]:
    conn = open_reader(path)
    if conn is None:
        return dashboard(None, query)
    try:
        _catch_up(path)
        return dashboard(conn, query)
    finally:
        conn.close()


def _catch_up(path: str) -> None:
    """The records written since the writers' last rollup, summed before the dashboards read
    (one chunk at most: a file an older version filled is caught up by the writers)."""
    try:
        with contextlib.closing(
            sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        ) as conn:
            catch_up(conn, chunks=1)
    except sqlite3.Error as exc:
        log.warning("dashboards: could not sum the latest records: %s", exc)


async def interaction(request: Request) -> Response:
    gw = _gateway(request)
    interaction_id = request.path_params["id"]
    item = await run_in_threadpool(get_interaction, gw.config.store.sqlite_path, interaction_id)
    if item is None:
        raise NotFound(
            f"Palisade: no interaction has the id `{interaction_id[:64]}`.",
            code="interaction_not_found",
        )
    return _json(item)


async def sessions(request: Request) -> Response:
    return await _listing(request, list_sessions)


async def _listing(
    request: Request, lister: Callable[..., tuple[list[dict[str, Any]], str | None]]
) -> Response:
    """One page of a listing (interactions, sessions) with the request's filters."""
    gw = _gateway(request)
    filters = _filters(request)
    cursor, limit = _page(request)
    try:
        items, next_cursor = await run_in_threadpool(
            lister, gw.config.store.sqlite_path, filters, cursor=cursor, limit=limit
        )
    except ValueError:
        raise _bad_cursor() from None
    return _json({"object": "list", "data": items, "next_cursor": next_cursor})


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/v1/interactions", interactions, methods=["GET"]),
        Route("/admin/v1/interactions/{id}", interaction, methods=["GET"]),
        Route("/admin/v1/sessions", sessions, methods=["GET"]),
        Route("/admin/v1/stats", stats, methods=["GET"]),
    ]
