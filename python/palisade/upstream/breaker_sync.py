"""Circuit breakers shared by the workers and replicas (through Redis) and shown as a metric.

Every change a worker's breaker makes sets `llm_breaker_state{deployment}`. With
`store.redis_url`, an opening or a closing this worker decides is also written to one Redis hash
(field: the deployment's id; value: state, `open_until`, when it was decided and when the entry
expires) by a task scheduled on the loop, never awaited on the request path; and every
`routing.breaker.sync_interval_s` one script call writes what is still unsent, drops expired
entries and returns the hash, and each entry newer than what this worker knows of the
deployment is applied with `Breaker.force`. An opening expires at its `open_until` (after it,
it would only make a worker half-open without a failure of its own); a closing lives
`max(cooldown_s, 5 intervals)`, long enough for every worker to read it. A decision is newer
than another by its wall-clock time (`time.time()`, comparable across hosts up to their skew);
the script keeps the newest per deployment, so a late write never undoes a later verdict.

The half-open trial is shared too: in the same call, a worker whose breaker opens up within the
next two intervals claims the deployment's trial key (`SET NX`-like, with a lease of five
intervals); the others push their own `open_until` past the lease's end, so that one call in the
whole fleet is the trial, and its verdict reaches the others at their next read. A worker that
holds the lease but gets no call lets it lapse, and the others claim it then. A cooldown shorter
than two intervals may end before a read claims its trial: such trials are not coordinated (one
per worker, as without Redis).

Redis failing or slow (`store.redis_timeout_s`) never fails a request nor stops the task: it is
logged once, each worker keeps its own breakers, and unsent decisions go out when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from palisade.config import Config
from palisade.store.resp import RespClient, RespError, Script
from palisade.telemetry.metrics import breaker_gauge
from palisade.upstream.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from palisade.upstream.groups import Routing

log = logging.getLogger("palisade.breakers")

# One hash slot for the hash and the trial keys (a script's keys must share it on a cluster).
KEY = "{palisade:breakers}"
TRIAL_PREFIX = "{palisade:breakers}:trial:"
TRIAL_LEASE_INTERVALS = 5
CLOSED_TTL_INTERVALS = 5

# KEYS: the hash, then the trial keys to claim. ARGV: now_ms, token, lease_ms, #writes, then per
# write (field, value). A value is "state,open_until_ms,at_ms,expires_ms". Returns {the hash's
# live fields and values, per trial key 0 (this worker's) or the ms left of another's lease}.
_SYNC = """
local now, token, lease, n = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local function parse(v)
  local at, ex = string.match(v, '^%d+,%d+,(%d+),(%d+)$')
  return tonumber(at), tonumber(ex), ex
end
for i = 1, n do
  local field, value = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  local at = parse(value)
  local current = redis.call('HGET', KEYS[1], field)
  local known = current and parse(current)
  if at and (not known or known < at) then redis.call('HSET', KEYS[1], field, value) end
end
local live, last, keep = {}, 0, nil
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local _, ex, text = parse(all[i + 1])
  if not ex or ex <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    live[#live + 1] = all[i]
    live[#live + 1] = all[i + 1]
    if ex > last then last, keep = ex, text end
  end
end
if keep then redis.call('PEXPIREAT', KEYS[1], keep) end
local claims = {}
for j = 2, #KEYS do
  local holder = redis.call('GET', KEYS[j])
  if not holder then
    redis.call('SET', KEYS[j], token, 'PX', lease)
    claims[#claims + 1] = 0
  elseif holder == token then
    claims[#claims + 1] = 0
  else
    claims[#claims + 1] = math.max(redis.call('PTTL', KEYS[j]), 1)
  end
end
return {live, claims}
"""

_REDIS_DOWN = (RespError, OSError, TimeoutError)


def _ms(seconds: float) -> int:
    return math.floor(seconds * 1000)


class BreakerSync:
    """The worker's breakers: their gauge, and their sharing when `redis_url` is given."""

    def __init__(
        self,
        routing: Routing,
        *,
        gauge: Callable[[str], Callable[[float], None]] | None = None,
        redis_url: str | None = None,
        timeout_s: float = 0.1,
    ) -> None:
        config = routing.config.breaker
        self.interval_s = config.sync_interval_s
        self.closed_ttl_s = max(config.cooldown_s, CLOSED_TTL_INTERVALS * self.interval_s)
        self.lease_ms = _ms(TRIAL_LEASE_INTERVALS * self.interval_s)
        self.breakers: dict[str, Breaker] = {
            id_: d.breaker for id_, d in routing.deployments.items() if d.breaker is not None
        }
        self._gauges = {id_: gauge(id_) for id_ in self.breakers} if gauge is not None else {}
        self._script = Script(_SYNC)
        self._client: RespClient | None = None
        if redis_url is not None and self.breakers:
            self._client = RespClient(redis_url, timeout_s, (self._script,))
        # Names this worker's trial claims (a worker of another host may have the same pid).
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        # Per deployment: when the newest decision this worker knows of was made (ms).
        self._seen: dict[str, int] = {}
        # This worker's decisions not written yet (the newest per deployment).
        self._unsent: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._push: asyncio.Task[None] | None = None
        self._down = False

    @classmethod
    def from_config(cls, config: Config, routing: Routing) -> BreakerSync:
        return cls(
            routing,
            gauge=breaker_gauge if config.metrics.enabled else None,
            redis_url=config.store.redis_url,
            timeout_s=config.store.redis_timeout_s,
        )

    @property
    def shared(self) -> bool:
        return self._client is not None

    def start(self) -> None:
        """Hooks every breaker; with Redis, starts the periodic read."""
        for id_, breaker in self.breakers.items():
            if self._gauges or self._client is not None:
                breaker.on_change = partial(self.changed, id_)
            gauge = self._gauges.get(id_)
            if gauge is not None:
                gauge(breaker.state)
        if self._client is not None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        for task in (self._task, self._push):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._push = None
        if self._client is not None:
            await self._client.close()

    def changed(self, deployment: str, state: int, open_until: float) -> None:
        """`Breaker.on_change`: on the request path, so it only notes and schedules."""
        gauge = self._gauges.get(deployment)
        if gauge is not None:
            gauge(state)
        if self._client is None or state == HALF_OPEN:
            return  # a trial is this worker's affair; its verdict is what others need
        now_ms = _ms(time.time())
        at = max(now_ms, self._seen.get(deployment, 0) + 1)
        self._seen[deployment] = at
        until = _ms(open_until) if state == OPEN else 0
        expires = until if state == OPEN else now_ms + _ms(self.closed_ttl_s)
        self._unsent[deployment] = f"{state},{until},{at},{expires}"
        if self._push is None and not self._down:
            self._push = asyncio.get_running_loop().create_task(self._send_unsent())

    async def _send_unsent(self) -> None:
        try:
            while self._unsent and not self._down:
                await self.sync(claims=False)
        finally:
            self._push = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.sync()

    async def sync(self, *, claims: bool = True) -> bool:
        """One round trip: write the unsent decisions, read and apply the others', claim the
        trials coming due. False when Redis failed (logged once; tried again next time)."""
        client = self._client
        if client is None:
            return False
        writes, self._unsent = self._unsent, {}
        now = time.time()
        due = self._due(now) if claims else []
        args: list[Any] = [_ms(now), self.token, self.lease_ms, len(writes)]
        for field, value in writes.items():
            args += (field, value)
        keys = [KEY, *(TRIAL_PREFIX + d for d in due)]
        try:
            reply: Any = await client.evalsha(self._script, self._script.command(keys, args))
            live: list[bytes] = reply[0]
            leases: list[int] = reply[1]
        except _REDIS_DOWN as exc:
            for field, value in writes.items():
                self._unsent.setdefault(field, value)  # a newer decision made meanwhile wins
            if not self._down:
                self._down = True
                log.warning(
                    "breaker sync: Redis unavailable (%s); each worker keeps its own breakers "
                    "until it is back",
                    type(exc).__name__,
                )
            return False
        except Exception:
            log.exception("breaker sync: unexpected reply")
            return False
        if self._down:
            self._down = False
            log.info("breaker sync: Redis is back")
        self._apply(live, _ms(time.time()))
        for deployment, lease in zip(due, leases, strict=False):
            breaker = self.breakers[deployment]
            # Still open (not closed by the verdict just read, nor in a trial of its own):
            # another worker's call is the trial, so this one waits for its verdict; if none
            # comes, it claims the trial itself once the lease is over.
            if lease > 0 and breaker.state == OPEN:
                breaker.force(OPEN, now + lease / 1000 + self.interval_s)
        return True

    def _due(self, now: float) -> list[str]:
        """Deployments whose breaker lets a trial through within two reads (two chances to
        claim it before it is due, should one read come late)."""
        horizon = now + 2 * self.interval_s
        return [d for d, b in self.breakers.items() if b.state == OPEN and b.open_until <= horizon]

    def _apply(self, live: list[bytes], now_ms: int) -> None:
        seen = self._seen
        for i in range(0, len(live) - 1, 2):
            deployment = live[i].decode()
            breaker = self.breakers.get(deployment)
            if breaker is None:
                continue  # a deployment another config has
            state_s, until_s, at_s, _ = live[i + 1].decode().split(",")
            at = int(at_s)
            if at <= seen.get(deployment, 0):
                continue
            seen[deployment] = at
            state, until = int(state_s), int(until_s)
            if state not in (OPEN, CLOSED) or (state == OPEN and until <= now_ms):
                continue
            before = breaker.state
            breaker.force(state, until / 1000)
            gauge = self._gauges.get(deployment)
            if gauge is not None and breaker.state != before:
                gauge(breaker.state)
