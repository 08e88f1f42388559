"""What the routing layer (issue 18: deployments, retries, fallback, breakers) costs a request
on the happy path, in process.

`before` is stage 5 and the call as they were before the layer (a16daa5's `_run`/`_forward`:
resolve, authorize, translation check, the upstream call, relay); `after` is today's
`aim_first` + `attempts.call` + `attempts.finish` + the record's attempts (JSON and metrics
summary). The network is left out on both sides alike: `send` returns a finished response object
and `relay` a prepared answer, so the difference is the layer's own CPU. Target: at most 5 us a
request. Run: `python benches/routing_bench.py` (a few seconds).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from palisade.config import parse_config
from palisade.pipeline.context import RequestContext
from palisade.pipeline.identity import Grant, authorize_target
from palisade.pipeline.record import _summary, attempts_record
from palisade.providers.catalog import Translations, connect
from palisade.providers.openai.surfaces import CHAT
from palisade.upstream import attempts
from palisade.upstream.client import upstream_headers
from palisade.upstream.groups import Routing
from palisade.upstream.routing import Router

ROUNDS = 7
N = 20_000
BODY = orjson.dumps(
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello to the team."}]}
)
HEADERS = {"authorization": "Bearer sk-client", "content-type": "application/json"}
CONFIG = {
    "auto_providers": False,
    "providers": {
        "a": {"base_url": "http://127.0.0.1:9/v1", "api_key": "k", "models": ["gpt-*"]},
        "b": {"base_url": "http://127.0.0.1:9/v1", "api_key": "k"},
    },
}


class _Resp:
    status = 200
    headers: Mapping[str, str] = {"content-type": "application/json"}
    raw_headers = ((b"content-type", b"application/json"),)


class _Gateway:
    def __init__(self, config: Any) -> None:
        self.router = Router(config.providers)
        self.routing = Routing(config, self.router)
        self.translations = Translations()
        self.connections = {p.name: connect(p) for p in config.providers}
        self.session = None


ANSWER = Response(b"{}")


async def _send(*args: Any, **kwargs: Any) -> _Resp:
    return _Resp()


async def _relay(ctx: RequestContext, resp: Any, **kwargs: Any) -> Response:
    deployment = ctx.deployment
    if deployment is not None and ctx.attempts is not None:  # the layer's share of relay
        headers = list(deployment.served)
        headers.append((b"x-palisade-attempts", str(len(ctx.attempts)).encode()))
    return ANSWER


def _context(gw: _Gateway) -> RequestContext:
    ctx = RequestContext(surface=CHAT)
    ctx.raw_body = BODY
    ctx.body = orjson.loads(BODY)
    ctx.model = "gpt-4o"
    return ctx


async def before(gw: _Gateway, grant: Grant) -> None:
    ctx = _context(gw)
    target = gw.router.resolve("gpt-4o")
    ctx.target = target
    provider = target.provider
    authorize_target(ctx, grant, provider.name, target.model)
    dialects = target.dialects or provider.dialects
    if ctx.surface.dialect.name not in dialects:
        ctx.translation = gw.translations.between(ctx.surface, dialects[0])
    upstream = ctx.upstream_surface
    connection = gw.connections[target.provider.name]
    headers = upstream_headers(HEADERS, upstream.dialect)
    body = ctx.outgoing_body()
    ctx.forwarded_body = body
    url = connection.url(upstream, target.model, ctx.stream)
    connection.authorize(headers, url, body, grant.provider_key)
    resp = await _send(url, headers=headers, body=body, provider=target.provider)
    await _relay(ctx, resp)


async def after(gw: _Gateway, grant: Grant) -> None:
    ctx = _context(gw)
    attempts.aim_first(gw, ctx, gw.routing.group("gpt-4o"), grant)  # type: ignore[arg-type]
    await attempts.call(gw, ctx, HEADERS, grant)  # type: ignore[arg-type]
    attempts.finish(ctx)
    assert ctx.attempts is not None
    attempts_record(ctx.attempts)
    _summary(ctx.attempts)


async def _time(step: Any, gw: _Gateway, grant: Grant) -> float:
    started = time.perf_counter()
    for _ in range(N):
        await step(gw, grant)
    return (time.perf_counter() - started) / N * 1e6


async def main() -> None:
    config = parse_config(CONFIG, source="bench", env={})
    gw = _Gateway(config)
    grant = Grant()
    # The network stays out of both sides (module globals the attempt loop calls).
    vars(attempts)["send"] = _send
    vars(attempts)["relay"] = _relay
    before_us, after_us = [], []
    for _ in range(ROUNDS):  # interleaved, so machine noise falls on both alike
        before_us.append(await _time(before, gw, grant))
        after_us.append(await _time(after, gw, grant))
    b, a = statistics.median(before_us), statistics.median(after_us)
    print(f"before (resolve + call, no network): {b:.2f} us/request (median of {ROUNDS})")
    print(f"after  (routing layer + call):       {a:.2f} us/request")
    print(f"the routing layer adds {a - b:.2f} us/request (target <= 5)")


if __name__ == "__main__":
    asyncio.run(main())
