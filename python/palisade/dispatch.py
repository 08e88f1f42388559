"""The generation routes found by a dict lookup, ahead of Starlette's middlewares and router.

Starlette sends every request through two middlewares (each wraps `send`, so each message of
the answer passes through two more coroutines) and a router that tries the routes' patterns in
order: a request addressed to an LLM proxy (`/{proxy}/v1/chat/completions`) is tried against
every fixed route first (about sixty). The generation endpoints need none of it: they render
their own errors, unexpected ones included, and record every request (`pipeline.run`).
Measured (one worker, non-streamed chat at c=32 as `http_bench --lean` sends it, the gateway's
CPU per request, median of four alternated runs): 208 -> 195 us on `/v1/chat/completions`, and
236 -> 199 us on a proxy's `/{proxy}/chat/completions`.

The lookup never answers differently from Starlette's router: a path enters the tables only
when Starlette itself resolves it to that endpoint (`_resolve`, with the routes' own `matches`),
and a proxy's path only when its first segment can be nothing but the proxy (no route starts
with that segment, and every route whose first segment is a parameter is a `/{proxy}` one).
Anything else (other methods, other paths, a `root_path`) goes through Starlette as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from palisade.pipeline.run import Generation

_PROXY = "{proxy}"
# A segment no client sends, standing for any proxy id while the tables are checked.
_SAMPLE_PROXY = "palisade-sample-proxy"

Table = dict[tuple[str, str], Generation]


class App(Starlette):
    """Starlette, with a POST to a generation path handed straight to its endpoint."""

    def __init__(self, *, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes=routes, **kwargs)
        self._fixed, self._proxied, self._heads = tables(self.router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            method, path = scope["method"], scope["path"]
            endpoint = self._fixed.get((method, path))
            if endpoint is None and self._proxied:
                slash = path.find("/", 1)
                if slash > 1 and path[1:slash] not in self._heads:
                    endpoint = self._proxied.get((method, path[slash:]))
                    if endpoint is not None:
                        scope["path_params"] = {"proxy": path[1:slash]}
            if endpoint is not None:
                scope["app"] = self  # what Starlette gives every endpoint (the gateway's state)
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def tables(routes: Sequence[BaseRoute]) -> tuple[Table, Table, frozenset[str]]:
    """(method, path) -> endpoint for fixed paths; (method, path after the proxy's segment) ->
    endpoint for proxies' paths; and the first segments of the fixed routes."""
    heads: set[str] = set()
    proxied_ok = True
    for route in routes:
        path = _path(route)
        if path is None:
            proxied_ok = False
            continue
        head = path[1:].split("/", 1)[0]
        if "{" not in head:
            heads.add(head)
        elif head != _PROXY:
            proxied_ok = False  # a parameter the proxy's path could also match
    fixed: Table = {}
    proxied: Table = {}
    for template, methods, endpoint in _leaves(routes, ""):
        for method in methods:
            if "{" not in template:
                if _resolve(routes, method, template) is endpoint:
                    fixed.setdefault((method, template), endpoint)
            elif proxied_ok and template.startswith(f"/{_PROXY}/"):
                rest = template[len(_PROXY) + 1 :]
                sample = f"/{_SAMPLE_PROXY}{rest}"
                if "{" not in rest and _resolve(routes, method, sample) is endpoint:
                    proxied.setdefault((method, rest), endpoint)
    return fixed, proxied, frozenset(heads)


def _path(route: BaseRoute) -> str | None:
    if isinstance(route, Route | Mount):
        return route.path
    return None


def _leaves(routes: Sequence[BaseRoute], prefix: str) -> list[tuple[str, set[str], Generation]]:
    """Every generation endpoint with its whole path template and methods."""
    found: list[tuple[str, set[str], Generation]] = []
    for route in routes:
        if isinstance(route, Mount):
            found.extend(_leaves(route.routes, prefix + route.path))
        elif isinstance(route, Route) and isinstance(route.app, Generation):
            found.append((prefix + route.path, set(route.methods or ()), route.app))
    return found


def _resolve(routes: Sequence[BaseRoute], method: str, path: str) -> ASGIApp | None:
    """The app Starlette's router hands `method path` to: the first route that matches it
    fully, a mount's own routes searched in turn (a matched mount never falls back)."""
    scope: Scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return _first(routes, scope)


def _first(routes: Sequence[BaseRoute], scope: Scope) -> ASGIApp | None:
    for route in routes:
        match, child = route.matches(scope)
        if match is not Match.FULL:
            continue
        if isinstance(route, Mount):
            return _first(route.routes, {**scope, **child})
        if isinstance(route, Route):
            return route.app
        return None
    return None
