"""Stages 5 and 6 together: the attempts one request makes until one is answered.

The first deployment is chosen when the request is routed (`aim_first`: stage 3 prices the
request by it). `call` then sends; on a failure that `routing.retry_on` names it retries (a
deployment of the same model not tried yet first; the same one after a backoff or the wait the
provider asked for), on one that `routing.fallback_on` names it moves down the fallback chain,
translating to the next model's dialect. Every retry and fallback takes from the worker's retry
budget and starts before `routing.deadline_s`; when neither may happen, the last failure is the
answer, as the provider gave it (translated) or as the gateway's error.

Nothing is retried once a byte of the answer may have reached the client. When an attempt
could still be followed by another one, the gateway reads an error answer's body (to tell a
context-window refusal from another 400) and a stream's first chunk (within
`first_byte_timeout_s` when set) before it commits: a stream whose first chunk reports an error
(Anthropic's overload after its 200, `outcome.from_stream`) moves on like an error status. The
last possible attempt is relayed exactly as before, so a request with nowhere else to go pays
nothing for this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Collection, Mapping
from typing import Any, Literal, overload

import aiohttp
from starlette.responses import Response

from palisade.errors import BadRequest, GatewayError, UpstreamTimeout, UpstreamUnreachable
from palisade.gateway import Gateway
from palisade.pipeline.context import Attempt, RequestContext
from palisade.pipeline.identity import Forbidden, Grant, authorize_target
from palisade.upstream.backoff import delay, wait_hint
from palisade.upstream.client import send, upstream_headers
from palisade.upstream.deployment import Deployment
from palisade.upstream.groups import Group, Routing
from palisade.upstream.outcome import from_body, from_status, from_stream, reads_body
from palisade.upstream.relay import FirstChunk, relay
from palisade.upstream.routing import Target


class NoDeployment(GatewayError):
    status = 503
    type = "server_error"
    code = "no_usable_deployment"


class _Failed:
    """An attempt that did not commit: why, and what the client gets if it is the last."""

    __slots__ = ("condition", "error", "response", "upstream", "wait")

    def __init__(
        self,
        condition: str | None,
        *,
        response: Response | None = None,
        error: GatewayError | None = None,
        wait: float | None = None,
        upstream: aiohttp.ClientResponse | None = None,
    ) -> None:
        self.condition = condition
        self.response = response
        self.error = error
        self.wait = wait
        # A stream that failed after its 200: open until it is either the answer or dropped.
        self.upstream = upstream

    def drop(self) -> None:
        """Another attempt follows: the failed stream's connection is let go."""
        if self.upstream is not None:
            self.upstream.close()

    def end(self) -> Response:
        if self.response is not None:
            return self.response
        assert self.error is not None
        raise self.error


def aim_first(gw: Gateway, ctx: RequestContext, group: Group, grant: Grant) -> None:
    """Stage 5: the deployment of the first attempt; when the model has none usable (every
    breaker open), the first usable model of its fallback chain."""
    ctx.group = group
    one = group.one
    if one is not None and not one.tracked:  # a model reached directly: its provider
        deployment: Deployment | None = one
    else:
        deployment = group.pick(time.time(), ctx.stream, ())
    if deployment is None:
        found = _next_in_chain(gw, ctx, grant, _chain(ctx), 0, ())
        if found is None:
            raise _unavailable(group)
        group, deployment, ctx.chain_step = found
        ctx.group = group
    target = aim(gw, ctx, deployment, group)
    authorize_target(ctx, grant, target.provider.name, target.model)


def aim(gw: Gateway, ctx: RequestContext, deployment: Deployment, group: Group) -> Target:
    """Points the request at `deployment`: its target, the translation its dialect needs, and
    the stream usage the gateway asks for on its own."""
    target = deployment.target
    if ctx.model is not None and group.name != ctx.model:
        target = Routing.aimed(target, ctx.model)
    ctx.target = target
    ctx.deployment = deployment
    surface = ctx.surface
    provider = target.provider
    dialects = target.dialects or provider.dialects
    translation = None
    if surface.dialect.name not in dialects:
        translation = gw.translations.between(surface, dialects[0])
    ctx.translation = translation
    if ctx.stream:
        wants = provider.stream_usage and translation is None
        if ctx.injected_stream_usage and not wants:
            _unask_stream_usage(ctx.body)
            ctx.injected_stream_usage = False
        elif wants and not ctx.injected_stream_usage:
            ctx.injected_stream_usage = surface.ask_stream_usage(ctx.body)
    return target


def _unask_stream_usage(body: dict[str, Any]) -> None:
    options = body.get("stream_options")
    if options == {"include_usage": True}:
        del body["stream_options"]
    elif isinstance(options, dict):
        body["stream_options"] = {**options, "include_usage": False}


def call(
    gw: Gateway, ctx: RequestContext, headers: Mapping[str, str], grant: Grant
) -> Awaitable[Response]:
    """Stage 6 with its retries and fallbacks (inside the client's disconnect watch). A plain
    function: a request with nowhere else to go awaits its one attempt directly, without a
    coroutine of the loop's in between (measured: a frame per request is about 0.3 us)."""
    group = ctx.group
    deployment = ctx.deployment
    assert group is not None
    assert deployment is not None
    chain = _chain(ctx)
    ctx.attempts = []
    if group.retries <= 0 and not chain:
        return _attempt(gw, ctx, headers, grant, deployment, last=True)
    return _retrying(gw, ctx, headers, grant, group, deployment, chain)


async def _retrying(
    gw: Gateway,
    ctx: RequestContext,
    headers: Mapping[str, str],
    grant: Grant,
    group: Group,
    deployment: Deployment,
    chain: tuple[str, ...],
) -> Response:
    routing: Routing = gw.routing
    config = routing.config
    retries = group.retries
    routing.budget.request()  # the budget is a share of the requests that may retry
    same = 0  # retries of the same deployment in a row, for the backoff
    tried: list[Deployment] = []
    while True:
        last = retries <= 0 and ctx.chain_step >= len(chain)
        result = await _attempt(gw, ctx, headers, grant, deployment, last=last)
        if isinstance(result, Response):
            return result
        tried.append(deployment)
        condition = result.condition
        now = time.time()
        if result.wait is not None and deployment.breaker is not None:
            # Others skip it until then; a model reached directly keeps its one provider.
            deployment.blocked_until = now + result.wait
        deadline = ctx.started + config.deadline_s
        if condition is not None and condition in config.retry_on and retries > 0:
            nxt = group.pick(now, ctx.stream, tried)
            if nxt is None and result.wait is not None:
                nxt = deployment  # nothing else: the wait it asked for, then again
            if nxt is not None:
                wait = 0.0
                if nxt is deployment:
                    wait = (
                        result.wait
                        if result.wait is not None
                        else delay(same, config.backoff_s, config.backoff_max_s)
                    )
                if time.perf_counter() + wait <= deadline and routing.budget.take():
                    _moved(ctx, "retry")
                    retries -= 1
                    same = same + 1 if nxt is deployment else 0
                    result.drop()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    deployment = nxt
                    aim(gw, ctx, deployment, group)
                    continue
        if (
            condition is not None
            and condition in config.fallback_on
            and ctx.chain_step < len(chain)
            and time.perf_counter() <= deadline
        ):
            found = _next_in_chain(gw, ctx, grant, chain, ctx.chain_step, tried)
            if found is not None and routing.budget.take():
                result.drop()
                group, deployment, ctx.chain_step = found
                ctx.group = group
                _moved(ctx, "fallback")
                retries, same = group.retries, 0
                aim(gw, ctx, deployment, group)
                continue
        return result.end()


def _chain(ctx: RequestContext) -> tuple[str, ...]:
    """The fallback chain: the proxy's for the model, else the model's own; none on a route
    that pins a provider."""
    if ctx.pinned or ctx.model is None:
        return ()
    group = ctx.group
    own = ctx.guards.proxy.fallbacks.get(ctx.model) if ctx.guards.proxy.fallbacks else None
    return own if own is not None else (group.fallbacks if group is not None else ())


def _next_in_chain(
    gw: Gateway,
    ctx: RequestContext,
    grant: Grant,
    chain: tuple[str, ...],
    step: int,
    tried: Collection[Deployment],
) -> tuple[Group, Deployment, int] | None:
    """The next model of `chain` from `step` that has a usable deployment the caller may
    reach, with the chain position after it."""
    routing: Routing = gw.routing
    now = time.time()
    while step < len(chain):
        name = chain[step]
        step += 1
        try:
            group = routing.group(name)
        except GatewayError:
            continue  # checked at load where it can be; a name no provider serves is skipped
        deployment = group.pick(now, ctx.stream, tried)
        if deployment is None:
            continue
        target = deployment.target
        try:
            authorize_target(ctx, grant, target.provider.name, target.model)
            dialects = target.dialects or target.provider.dialects
            if ctx.surface.dialect.name not in dialects:
                gw.translations.between(ctx.surface, dialects[0])  # one this client can reach
        except (Forbidden, BadRequest):
            continue
        return group, deployment, step
    return None


def _moved(ctx: RequestContext, why: str) -> None:
    attempts = ctx.attempts
    if attempts:
        attempts[-1].next = why


def _unavailable(group: Group) -> NoDeployment:
    now = time.time()
    waits = [
        d.breaker.open_until - now
        for d in group.deployments
        if d.breaker is not None and d.breaker.open_until > now
    ]
    headers = {"retry-after": str(max(1, int(min(waits) + 0.999)))} if waits else None
    return NoDeployment(
        f"Palisade: no deployment of `{group.name[:128]}` can take calls now (their circuit "
        "breakers are open or they are at capacity); try again later.",
        headers=headers,
    )


@overload
async def _attempt(
    gw: Gateway,
    ctx: RequestContext,
    client: Mapping[str, str],
    grant: Grant,
    deployment: Deployment,
    *,
    last: Literal[True],
) -> Response: ...


@overload
async def _attempt(
    gw: Gateway,
    ctx: RequestContext,
    client: Mapping[str, str],
    grant: Grant,
    deployment: Deployment,
    *,
    last: bool,
) -> Response | _Failed: ...


async def _attempt(
    gw: Gateway,
    ctx: RequestContext,
    client: Mapping[str, str],
    grant: Grant,
    deployment: Deployment,
    *,
    last: bool,
) -> Response | _Failed:
    """One call. The last possible one ends the request itself: its failure is the answer
    (the provider's error relayed, or the gateway's raised), never a `_Failed`."""
    target = ctx.target
    assert target is not None
    upstream = ctx.upstream_surface
    connection = gw.connections[target.provider.name]
    headers = upstream_headers(client, upstream.dialect)
    body = ctx.outgoing_body()
    if connection.rewrites_body:
        body = connection.rewrite_body(upstream, body)
    ctx.forwarded_body = body
    url = connection.url(upstream, target.model, ctx.stream)
    pending = connection.authorize(headers, url, body, grant.provider_key)
    if pending is not None:
        await pending
    started = time.perf_counter()
    attempt = Attempt(deployment.id, started)
    assert ctx.attempts is not None
    ctx.attempts.append(attempt)
    tracked = deployment.tracked
    if tracked:
        deployment.start(time.time())
    chunk: bytes | None = None
    sent = send(
        gw.session,
        "POST",
        url,
        headers=headers,
        body=body,
        provider=target.provider,
        timeouts=deployment.timeout,
    )
    try:
        if last:
            resp = await sent
        else:
            # No limit unless one is configured; the first chunk is read either way, so that
            # a stream that opens with an error event can still move on.
            async with asyncio.timeout(deployment.first_byte_timeout_s):
                resp = await sent
                if (
                    ctx.stream
                    and resp.status == 200
                    and resp.headers.get("content-type", "").startswith(upstream.stream_type)
                ):
                    chunk = await resp.content.readany()
    except TimeoutError:
        return _failure(
            last, ctx, deployment, attempt, "timeout", error=_late(target.provider.name)
        )
    except UpstreamTimeout as exc:
        return _failure(last, ctx, deployment, attempt, "timeout", error=exc)
    except UpstreamUnreachable as exc:
        return _failure(last, ctx, deployment, attempt, "connect_error", error=exc)
    except aiohttp.ClientError as exc:  # reading the first chunk
        error = UpstreamUnreachable(
            f"Palisade: provider `{target.provider.name}` failed before answering "
            f"({type(exc).__name__})."
        )
        return _failure(last, ctx, deployment, attempt, "connect_error", error=error)
    status = resp.status
    attempt.status = status
    if status >= 400 and not last:
        condition = from_status(status)
        error_body = None
        if condition is None and reads_body(status):
            try:
                error_body = await resp.read()
            except (aiohttp.ClientError, TimeoutError):
                error_body = b""
            condition = from_body(error_body)
        wait = wait_hint(resp.headers, time.time()) if status == 429 or status >= 500 else None
        if condition is not None:
            if error_body is None:
                try:
                    error_body = await resp.read()
                except (aiohttp.ClientError, TimeoutError):
                    error_body = b""
            response = await relay(ctx, resp, body=error_body)
            return _failure(last, ctx, deployment, attempt, condition, response=response, wait=wait)
        # A 400 the request earned: the provider is fine, and the client gets it as it is.
        if tracked:
            deployment.failed(time.time(), counts=False)
        attempt.outcome = "client_error"
        return await relay(ctx, resp, body=error_body)
    first = None
    if chunk is not None:
        if not chunk:
            resp.close()
            return _failure(
                last, ctx, deployment, attempt, "server_error", error=_empty(target.provider.name)
            )
        first = FirstChunk(chunk, upstream.stream_parser())
        # A stream whose first chunk reports an error (an overload, a rate limit): relayed as
        # it came should it be the answer, else dropped for the next attempt.
        condition = from_stream(first.events)
        if condition is not None:
            response = await relay(ctx, resp, first=first)
            return _failure(
                last, ctx, deployment, attempt, condition, response=response, upstream=resp
            )
    try:
        response = await relay(ctx, resp, first=first)
    except (UpstreamTimeout, UpstreamUnreachable) as exc:
        # A whole answer broke off while the gateway read it: the client has nothing yet.
        condition = "timeout" if isinstance(exc, UpstreamTimeout) else "connect_error"
        if last:
            _settle(ctx, deployment, attempt, condition)
            raise
        return _failure(last, ctx, deployment, attempt, condition, error=exc)
    latency = attempt.latency = time.perf_counter() - started
    if status < 400:
        attempt.outcome = "ok"
        if tracked:
            deployment.succeeded(time.time(), latency, None if first is None else latency)
    else:
        condition = from_status(status)
        attempt.outcome = condition or "client_error"
        if tracked:
            deployment.failed(time.time(), counts=condition is not None)
    return response


def _failure(
    last: bool,
    ctx: RequestContext,
    deployment: Deployment,
    attempt: Attempt,
    condition: str,
    *,
    response: Response | None = None,
    error: GatewayError | None = None,
    wait: float | None = None,
    upstream: aiohttp.ClientResponse | None = None,
) -> Response | _Failed:
    _settle(ctx, deployment, attempt, condition)
    if deployment.tracked:
        deployment.ended(0)
    attempt.closed = True
    failed = _Failed(condition, response=response, error=error, wait=wait, upstream=upstream)
    return failed.end() if last else failed


# What counts against a deployment's breaker: an outage. A 429 is a provider that works and
# asks for patience (`blocked_until`); a prompt too long or filtered is the request's doing.
_OUTAGES = frozenset({"connect_error", "timeout", "server_error"})


def _settle(ctx: RequestContext, deployment: Deployment, attempt: Attempt, condition: str) -> None:
    if deployment.tracked:
        deployment.failed(time.time(), counts=condition in _OUTAGES)
    attempt.outcome = condition
    attempt.latency = time.perf_counter() - attempt.started


def finish(ctx: RequestContext) -> None:
    """The request ended (its last byte sent): the committed deployment's call is over."""
    deployment = ctx.deployment
    attempts = ctx.attempts
    if deployment is None or not deployment.tracked or not attempts or attempts[-1].closed:
        return
    if attempts[-1].outcome is None:  # the client left first: no verdict on the provider
        deployment.failed(time.time(), counts=False)
    tokens = 0
    if deployment.config.tpm is not None:
        usage = ctx.usage
        if usage is not None:
            tokens = usage.input_tokens + usage.output_tokens
    deployment.ended(tokens)


def _late(provider: str) -> UpstreamTimeout:
    return UpstreamTimeout(f"Palisade: provider `{provider}` sent no first byte in time.")


def _empty(provider: str) -> UpstreamUnreachable:
    return UpstreamUnreachable(f"Palisade: provider `{provider}` ended its stream at once.")
