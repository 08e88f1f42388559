"""Stage 3 as one step of the request path: dedup first (a replay costs no limit), then rate
limits and budgets, then the rest of the request. A request no limit, budget or idempotency key
applies to passes straight through without touching the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.responses import Response

from palisade.config import Config
from palisade.pipeline.context import RequestContext
from palisade.pipeline.dedup import Dedup, idempotency_key
from palisade.pipeline.limits import Limits
from palisade.pricing import PriceTable
from palisade.store.limits_store import LimitsStore
from palisade.store.memory import MemoryStore
from palisade.store.redis import RedisStore
from palisade.store.sqlite_spend import SpendLog


class Admission:
    def __init__(self, config: Config, store: LimitsStore, prices: PriceTable) -> None:
        self.store = store
        self.limits = Limits(config, store, prices)
        self.dedup = Dedup(
            config.dedup, store, fail_closed=config.store.on_redis_failure == "fail_closed"
        )

    async def run(
        self,
        ctx: RequestContext,
        headers: Headers,
        call: Callable[[], Awaitable[Response]],
    ) -> Response:
        idem = idempotency_key(headers)
        if not self.limits.applies(ctx):
            if idem is None:
                return await call()
            return await self.dedup.run(ctx, idem, call)
        if idem is None:
            return await self.limits.run(ctx, call)
        return await self.dedup.run(ctx, idem, lambda: self.limits.run(ctx, call))

    async def close(self) -> None:
        await self.limits.drain()
        await self.dedup.drain()
        await self.store.close()


async def open_store(config: Config) -> LimitsStore:
    """Redis when `store.redis_url` is set, else the in-process store with spend on SQLite."""
    if config.store.redis_url:
        return RedisStore(config.store.redis_url, config.store.redis_timeout_s)
    store = MemoryStore(SpendLog(config.store.sqlite_path))
    await store.open()
    return store
