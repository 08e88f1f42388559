"""Stage 3: rate limits (RPM, TPM) and budgets.

Before the call, one store operation checks every limit and budget that applies to the request
and, when all pass, counts the request and reserves its tokens (the prompt's counted tokens plus
its `max_tokens`, or `tpm_default_max_tokens`). After the call, one more replaces the reservation
by the real usage and charges the real cost to the budgets. It is sent before the answer's last
bytes leave (the usage chunk of a stream), so it reaches the store ahead of the caller's next
request, and nobody waits for its reply on the request path.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from starlette.responses import Response

from palisade.config import BudgetConfig, Config, RateLimitConfig, parse_period
from palisade.disconnect import ClientDisconnected
from palisade.errors import GatewayError
from palisade.pipeline.context import RequestContext
from palisade.pipeline.usage import prompt_tokens
from palisade.pricing import PriceTable
from palisade.store.limits_store import (
    CheckResult,
    LimitsStore,
    Period,
    StoreUnavailable,
    Window,
)
from palisade.upstream.relay import SseResponse

log = logging.getLogger("palisade.limits")

WINDOW_MS = 60_000
NANO_PER_USD = 1_000_000_000
# Rolling budgets are summed over this many buckets of period / _ROLLING_BUCKETS.
_ROLLING_BUCKETS = 24
_DAY_MS = 86_400_000
_LOG_EVERY_S = 10.0
# Bodies from this size on are token-counted in a thread (~1 ms of counting at 44 MB/s).
_COUNT_IN_THREAD_BYTES = 48 * 1024
_PLAN_CACHE_SIZE = 4096

STORE_FAILURES = Counter(
    "palisade_limit_store_failures_total",
    "Limit, budget or dedup store operations that failed or timed out.",
    ["operation"],
)
LIMITED = Counter(
    "palisade_limited_requests_total",
    "Requests refused by stage 3.",
    ["reason"],
)
UNPRICED = Counter(
    "palisade_unpriced_calls_total",
    "Calls charged 0 to budgets because their model has no price.",
)


class RateLimited(GatewayError):
    status = 429
    type = "requests"
    code = "rate_limit_exceeded"


class BudgetExceeded(GatewayError):
    status = 402
    type = "insufficient_quota"
    code = "budget_exceeded"


class ModelUnpriced(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "model_unpriced"


class LimitsUnavailable(GatewayError):
    status = 503
    type = "server_error"
    code = "limits_unavailable"


class _FailureLog:
    """At most one log line per operation every `_LOG_EVERY_S`: a dead Redis under load must not
    flood the log."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def __call__(self, operation: str, exc: BaseException) -> None:
        STORE_FAILURES.labels(operation).inc()
        now = time.monotonic()
        if now - self._last.get(operation, -_LOG_EVERY_S) < _LOG_EVERY_S:
            self._suppressed[operation] = self._suppressed.get(operation, 0) + 1
            return
        self._last[operation] = now
        hidden = self._suppressed.pop(operation, 0)
        more = f" ({hidden} more since the last report)" if hidden else ""
        log.warning("limits store %s failed: %s%s", operation, exc, more)


store_failed = _FailureLog()


def unavailable() -> LimitsUnavailable:
    return LimitsUnavailable(
        "Palisade: the limits store (Redis) is unreachable and `store.on_redis_failure` is "
        "fail_closed, so requests are refused until it is back."
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    windows: tuple[Window, ...]
    # (name, scope) of each window, for the error message.
    labels: tuple[tuple[str, str], ...]
    periods: tuple[Period, ...]
    budgets: tuple[tuple[str, str, float, str], ...]  # name, scope, usd, period
    prompt_tokens: int
    reserve: int
    settles: bool  # a window counts tokens or a budget is charged


class _Calendar:
    """The current UTC day and month ids, recomputed only when the day changes."""

    def __init__(self) -> None:
        self._day_end = 0
        self._ids = ("", "")

    def ids(self, now_ms: int) -> tuple[str, str]:
        if now_ms >= self._day_end or now_ms < self._day_end - _DAY_MS:
            day = datetime.fromtimestamp(now_ms / 1000, UTC)
            self._ids = (day.strftime("%Y-%m-%d"), day.strftime("%Y-%m"))
            self._day_end = (now_ms // _DAY_MS + 1) * _DAY_MS
        return self._ids


def _id_part(value: str) -> str:
    # Length-prefixed: no id, whatever it contains, can forge another scope's key.
    return f"{len(value)}:{value}"


def _scope_value(scope: str, ctx: RequestContext) -> str | None:
    if scope == "proxy":
        return ctx.proxy_id or None
    if scope == "key":
        return ctx.key_id
    if scope == "user":
        return ctx.user_id
    return ctx.agent_id


def duration(ms: int) -> str:
    """OpenAI's reset format: `20ms`, `1s`, `6m0s`."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    seconds = math.ceil(ms / 1000)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


class Limits:
    def __init__(self, config: Config, store: LimitsStore, prices: PriceTable) -> None:
        self._store = store
        self._prices = prices
        self._fail_closed = config.store.on_redis_failure == "fail_closed"
        self._default_max_tokens = config.tpm_default_max_tokens
        self._rules: dict[str, tuple[tuple[RateLimitConfig, ...], tuple[BudgetConfig, ...]]] = {
            p.id: (
                tuple(x for x in config.limits if not x.proxies or p.id in x.proxies),
                tuple(x for x in config.budgets if not x.proxies or p.id in x.proxies),
            )
            for p in config.proxies
        }
        self.proxies_limited = frozenset(pid for pid, (rl, bd) in self._rules.items() if rl or bd)
        self._calendar = _Calendar()
        self._plans: dict[tuple[object, ...], _Plan | None] = {}
        self._pending: set[asyncio.Future[None]] = set()

    def applies(self, ctx: RequestContext) -> bool:
        return ctx.proxy_id in self.proxies_limited or bool(ctx.key_id and ctx.key_limits)

    async def run(self, ctx: RequestContext, call: Callable[[], Awaitable[Response]]) -> Response:
        now_ms = time.time_ns() // 1_000_000
        plan = self._plan(ctx, now_ms)
        if plan is None:
            return await call()
        if plan.periods and ctx.guards.proxy.refuse_unpriced:
            self._check_priced(ctx, plan)
        plan = await self._reserve(ctx, plan)
        try:
            result = await self._store.check(plan.windows, plan.reserve, plan.periods, now_ms)
        except StoreUnavailable as exc:
            store_failed("check", exc)
            if self._fail_closed:
                LIMITED.labels("store_unavailable").inc()
                ctx.error_code = "limits_unavailable"
                raise unavailable() from None
            ctx.limit_outcome = "fail_open"
            return await call()
        headers = _rate_headers(plan, result, now_ms)
        if not result.allowed:
            raise self._refusal(ctx, plan, result, headers, now_ms)
        ctx.limit_outcome = "allowed"
        try:
            response = await call()
        except BaseException as exc:
            if isinstance(exc, GatewayError):
                exc.headers.update(_as_str(headers))
            if plan.settles:
                # A client that left mid-call (ClientDisconnected) had its prompt sent.
                self._settle(ctx, plan, result, sent=isinstance(exc, ClientDisconnected))
            raise
        response.raw_headers.extend(headers)
        if not plan.settles:
            return response
        if isinstance(response, SseResponse):
            response.chunks = self._settling(ctx, plan, result, response.chunks)
        else:
            self._settle(ctx, plan, result)
        return response

    def _plan(self, ctx: RequestContext, now_ms: int) -> _Plan | None:
        """The limits and budgets of the request's ids, cached by those ids (and the calendar
        day, which names the budget periods): a caller's next request reuses its plan."""
        key_limits = ctx.key_limits
        cache_key = (
            ctx.proxy_id,
            ctx.key_id,
            ctx.agent_id,
            ctx.user_id,
            self._calendar.ids(now_ms),
            tuple(key_limits.items()) if key_limits else None,
        )
        try:
            return self._plans[cache_key]
        except KeyError:
            pass
        except TypeError:  # a key limit value that cannot be hashed: plan without the cache
            return self._new_plan(ctx, now_ms)
        plan = self._new_plan(ctx, now_ms)
        if len(self._plans) >= _PLAN_CACHE_SIZE:
            self._plans.clear()  # ids come from clients: bound the cache, simply
        self._plans[cache_key] = plan
        return plan

    def _new_plan(self, ctx: RequestContext, now_ms: int) -> _Plan | None:
        limits, budgets = self._rules.get(ctx.proxy_id, ((), ()))
        windows: list[Window] = []
        labels: list[tuple[str, str]] = []
        for rule in limits:
            parts = []
            for scope in rule.scope:
                value = _scope_value(scope, ctx)
                if value is None:
                    break
                parts.append(_id_part(value))
            else:
                windows.append(
                    Window(
                        f"pl:r:{_id_part(rule.name)}{'|'.join(parts)}",
                        WINDOW_MS,
                        rule.rpm,
                        rule.tpm,
                    )
                )
                labels.append((rule.name, ", ".join(rule.scope) or "gateway"))
        periods: list[Period] = []
        named: list[tuple[str, str, float, str]] = []
        for budget in budgets:
            value = _scope_value(budget.scope, ctx)
            if value is not None:
                periods.append(
                    self._period(
                        f"b:{_id_part(budget.name)}",
                        value,
                        budget.usd,
                        budget.period,
                        budget.rolling_s,
                        now_ms,
                    )
                )
                named.append((budget.name, budget.scope, budget.usd, budget.period))
        if ctx.key_id and ctx.key_limits:
            self._key_limits(ctx.key_id, ctx.key_limits, now_ms, windows, labels, periods, named)
        if not windows and not periods:
            return None
        return _Plan(
            tuple(windows), tuple(labels), tuple(periods), tuple(named), 0, 0, bool(periods)
        )

    def _check_priced(self, ctx: RequestContext, plan: _Plan) -> None:
        """A budget cannot count what has no price: the proxy refuses the call instead."""
        target = ctx.target
        model = target.model if target is not None else (ctx.model or "")
        provider = target.provider.name if target is not None else None
        if self._prices.lookup(model, provider) is not None:
            return
        LIMITED.labels("unpriced").inc()
        ctx.limit_outcome = ctx.error_code = "model_unpriced"
        budgets = ", ".join(f"`{name}`" for name, *_ in plan.budgets)
        raise ModelUnpriced(
            f"Palisade: the model `{model}` has no price, and proxy `{ctx.proxy_id}` refuses "
            f"models without one while a budget applies ({budgets}): the call could not be "
            "charged to it. Use a priced model, or add its price under `pricing:`.",
            param="model",
        )

    async def _reserve(self, ctx: RequestContext, plan: _Plan) -> _Plan:
        """The plan with the request's TPM reservation, when a window counts tokens."""
        if not any(w.tpm is not None for w in plan.windows):
            return plan
        if len(ctx.raw_body) < _COUNT_IN_THREAD_BYTES:
            prompt = prompt_tokens(ctx)
        else:
            # Counting releases the GIL; a big prompt must not hold the event loop meanwhile.
            prompt = await asyncio.to_thread(prompt_tokens, ctx)
        reserve = prompt + self._max_tokens(ctx)
        return _Plan(plan.windows, plan.labels, plan.periods, plan.budgets, prompt, reserve, True)

    def _key_limits(
        self,
        key_id: str,
        key_limits: dict[str, Any],
        now_ms: int,
        windows: list[Window],
        labels: list[tuple[str, str]],
        periods: list[Period],
        named: list[tuple[str, str, float, str]],
    ) -> None:
        rpm, tpm = _positive_int(key_limits.get("rpm")), _positive_int(key_limits.get("tpm"))
        if rpm is not None or tpm is not None:
            windows.append(Window(f"pl:rk:{key_id}", WINDOW_MS, rpm, tpm))
            labels.append(("key", "key"))
        usd = key_limits.get("budget_usd")
        if isinstance(usd, int | float) and not isinstance(usd, bool) and usd > 0:
            period = key_limits.get("budget_period") or "month"
            try:
                rolling_s = parse_period(str(period), ValueError)
            except ValueError:
                period, rolling_s = "month", None
            periods.append(self._period("bk", key_id, float(usd), str(period), rolling_s, now_ms))
            named.append(("key", "key", float(usd), str(period)))

    def _period(
        self, name: str, value: str, usd: float, period: str, rolling_s: int | None, now_ms: int
    ) -> Period:
        limit = round(usd * NANO_PER_USD)
        if rolling_s is None:
            day, month = self._calendar.ids(now_ms)
            pid, ttl = (day, 2 * _DAY_MS) if period == "day" else (month, 32 * _DAY_MS)
            return Period(f"pl:{name}:{_id_part(value)}:{pid}", limit, 0, 0, ttl)
        bucket_ms = max(rolling_s * 1000 // _ROLLING_BUCKETS, 1)
        return Period(
            f"pl:{name}:{_id_part(value)}:{rolling_s}",
            limit,
            bucket_ms,
            _ROLLING_BUCKETS,
            rolling_s * 1000 + bucket_ms,
        )

    def _max_tokens(self, ctx: RequestContext) -> int:
        return ctx.surface.max_output_tokens(ctx.body, self._default_max_tokens)

    def _refusal(
        self,
        ctx: RequestContext,
        plan: _Plan,
        result: CheckResult,
        headers: list[tuple[bytes, bytes]],
        now_ms: int,
    ) -> GatewayError:
        i = result.denied
        if result.denied_by == "budget":
            name, scope, usd, period = plan.budgets[i - len(plan.windows)]
            LIMITED.labels("budget").inc()
            ctx.limit_outcome = ctx.error_code = "budget_exceeded"
            return BudgetExceeded(
                f"Palisade: budget `{name}` (scope: {scope}) is used up: "
                f"${result.spent_nano / NANO_PER_USD:.6f} of ${usd:g} per {period}.",
                headers=_as_str(headers),
            )
        name, scope = plan.labels[i]
        window, state = plan.windows[i], result.windows[i]
        retry_ms = state.start_ms + window.window_ms - now_ms
        what = (
            f"{window.rpm} requests" if result.denied_by == "requests" else f"{window.tpm} tokens"
        )
        LIMITED.labels("rate_limit").inc()
        ctx.limit_outcome = "rate_limited"
        ctx.error_code = "rate_limit_exceeded"
        return RateLimited(
            f"Palisade: rate limit `{name}` (scope: {scope}) reached: {what} per minute. "
            f"Retry after {duration(retry_ms)}.",
            type=result.denied_by,
            headers={**_as_str(headers), "retry-after": str(max(1, math.ceil(retry_ms / 1000)))},
        )

    async def _settling(
        self, ctx: RequestContext, plan: _Plan, result: CheckResult, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        settled = False
        try:
            async for chunk in chunks:
                if not settled and ctx.usage is not None:
                    # Sent before the chunk that carries the usage (and [DONE] after it): the
                    # caller's next request is checked after it.
                    settled = True
                    self._settle(ctx, plan, result)
                yield chunk
        finally:
            if not settled:  # no usage: the stream broke, or the client left
                self._settle(ctx, plan, result)

    def _settle(
        self, ctx: RequestContext, plan: _Plan, result: CheckResult, *, sent: bool = False
    ) -> None:
        """Applies (in process) or writes (Redis) the settlement now; its reply is awaited off
        the request path."""
        used, cost_nano = self._account(ctx, plan, sent=sent)
        if cost_nano <= 0 and all(
            w.tpm is None or used == min(plan.reserve, w.tpm) for w in plan.windows
        ):
            return  # nothing to change: no round trip
        pending = self._store.settle(
            plan.windows,
            tuple(s.start_ms for s in result.windows),
            plan.reserve,
            used,
            plan.periods,
            cost_nano,
            time.time_ns() // 1_000_000,
        )
        if pending.done():
            _settled(pending)
            return
        self._pending.add(pending)
        pending.add_done_callback(self._pending.discard)
        pending.add_done_callback(_settled)

    def _account(self, ctx: RequestContext, plan: _Plan, *, sent: bool) -> tuple[int, int]:
        usage = ctx.usage
        if usage is None:
            # Nothing reported, but the prompt reached the provider (it answered 200, or the
            # client left while it worked): count the prompt.
            ctx.tokens_counted = sent or ctx.status == 200
            return (plan.prompt_tokens if ctx.tokens_counted else 0), 0
        used = usage.input_tokens + usage.output_tokens
        target = ctx.target
        model = target.model if target is not None else (ctx.model or "")
        cost = self._prices.cost(model, usage, target.provider.name if target else None)
        if cost is None:
            UNPRICED.inc()
            cost = 0.0
        ctx.cost_usd = cost
        return used, round(cost * NANO_PER_USD)

    async def drain(self) -> None:
        """Waits for settlements still in flight (shutdown)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


def _settled(pending: asyncio.Future[None]) -> None:
    exc = pending.exception()
    if isinstance(exc, StoreUnavailable):
        store_failed("settle", exc)
    elif exc is not None:
        log.error("settlement failed", exc_info=exc)


def _positive_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


_HEADER_NAMES = {
    kind: (
        f"x-ratelimit-limit-{kind}".encode(),
        f"x-ratelimit-remaining-{kind}".encode(),
        f"x-ratelimit-reset-{kind}".encode(),
    )
    for kind in ("requests", "tokens")
}


def _rate_headers(plan: _Plan, result: CheckResult, now_ms: int) -> list[tuple[bytes, bytes]]:
    requests: tuple[int, int, int] | None = None  # remaining, limit, reset ms
    tokens: tuple[int, int, int] | None = None
    for window, state in zip(plan.windows, result.windows, strict=True):
        reset = state.start_ms + window.window_ms - now_ms
        if window.rpm is not None:
            left = max(window.rpm - state.requests, 0)
            if requests is None or left < requests[0]:
                requests = (left, window.rpm, reset)
        if window.tpm is not None:
            left = max(window.tpm - state.tokens, 0)
            if tokens is None or left < tokens[0]:
                tokens = (left, window.tpm, reset)
    out: list[tuple[bytes, bytes]] = []
    for kind, values in (("requests", requests), ("tokens", tokens)):
        if values is not None:
            limit_name, remaining_name, reset_name = _HEADER_NAMES[kind]
            out += (
                (limit_name, b"%d" % values[1]),
                (remaining_name, b"%d" % values[0]),
                (reset_name, duration(values[2]).encode()),
            )
    return out


def _as_str(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in headers}
