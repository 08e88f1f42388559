"""A prefix's routes under one `Mount` (`/v1/gemini/...`, `/v1/groq/...`): the fixed routes
first, then the same under a proxy id (`/v1/gemini/{proxy}/...`).

Starlette tries routes in order, and checking a path against one costs about 0.8 µs: flat, the
routes of every dialect and provider ahead of a request's own added up to 30 µs a request for
the native Gemini and Bedrock routes (measured: `dialects_bench.py`, 83% of the OpenAI route's
throughput). Under a Mount a path of another prefix pays one check for all of them. The OpenAI
routes at `/v1` stay first and flat: the most used pay nothing for the others.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute, Mount


def under(prefix: str, build: Callable[[str], list[BaseRoute]]) -> Mount:
    """`build(p)`: the routes whose paths start with `p` (`""` or `"/{proxy}"`)."""
    return Mount(prefix, routes=[*build(""), *build("/{proxy}")])
