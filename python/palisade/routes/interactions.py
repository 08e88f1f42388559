"""The interaction log over HTTP: `/admin/v1/interactions` and `/admin/v1/sessions` (viewer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from palisade.errors import BadRequest, NotFound
from palisade.gateway import Gateway
from palisade.routes.admin_auth import require_role
from palisade.store.interactions import (
    Filters,
    get_interaction,
    list_interactions,
    list_sessions,
    parse_time,
)

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_TEXT_FILTERS = ("agent_id", "user_id", "session_id", "execution_id", "proxy", "model")
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
    known = {*_TEXT_FILTERS, "status", "guardrail_action", "since", "until", "cursor", "limit"}
    for key in q:
        if key not in known:
            raise BadRequest(
                f"Palisade: unknown query parameter `{key[:64]}` "
                f"(known: {', '.join(sorted(known))}).",
                param=key[:64],
            )
    text: dict[str, Any] = {k: q[k] for k in _TEXT_FILTERS if q.get(k)}
    status = q.get("status")
    if status is not None and not (status.isdigit() and 100 <= int(status) <= 599):
        raise BadRequest("Palisade: `status` must be an HTTP status code.", param="status")
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
    )


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
    return await _listing(request, list_interactions)


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
    ]
