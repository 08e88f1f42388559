"""The Redis backend: every operation is one script call (EVALSHA, loaded once per server), so
all the limits of a request cost one round trip and are atomic across workers and replicas.

`store.redis_timeout_s` bounds the connect and every reply; after a failure the store answers
`StoreUnavailable` at once for `_BACKOFF_S` (no request waits on a Redis that just failed), then
tries again: the client reconnects on its own and reloads the scripts after a Redis restart.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

from palisade.store.limits_store import (
    CheckResult,
    Claim,
    ClaimState,
    DeniedBy,
    Period,
    StoreUnavailable,
    Window,
    WindowState,
)
from palisade.store.resp import Command, RespClient, RespError, Script

_BACKOFF_S = 0.5
_COMMANDS_CACHED = 4096

# KEYS: windows, then periods. ARGV: #windows, #periods, then per window (window_ms, rpm, tpm)
# with -1 for "none", then per period (limit_nano, bucket_ms, buckets), then now and reserve:
# what changes from call to call comes last, so that the rest is encoded once per plan.
# Returns {allowed, denied index (0-based, -1), denied by (1 requests, 2 tokens, 3 budget),
# spent, then per window start, requests, tokens}.
_CHECK = """
local nw, np = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, reserve = tonumber(ARGV[3 + 3 * (nw + np)]), tonumber(ARGV[4 + 3 * (nw + np)])
local st = {}
local denied, by, spent = -1, 0, 0
for i = 1, nw do
  local a = 2 + (i - 1) * 3
  local win, rpm, tpm = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local v = redis.call('HMGET', KEYS[i], 's', 'r', 't')
  local s, r, t = tonumber(v[1]), tonumber(v[2]) or 0, tonumber(v[3]) or 0
  local fresh = false
  if s == nil or now >= s + win then s, r, t, fresh = now, 0, 0, true end
  local need = 0
  if tpm >= 0 then need = math.min(reserve, tpm) end
  st[i] = {s, r, t, need, fresh, win}
  if denied < 0 then
    if rpm >= 0 and r + 1 > rpm then denied, by = i - 1, 1
    elseif tpm >= 0 and (t >= tpm or t + need > tpm) then denied, by = i - 1, 2 end
  end
end
if denied < 0 then
  for j = 1, np do
    local a = 2 + nw * 3 + (j - 1) * 3
    local limit, bms, n = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    local sum = 0
    if bms == 0 then
      sum = tonumber(redis.call('HGET', KEYS[nw + j], '0')) or 0
    else
      local oldest = math.floor(now / bms) - n
      local kv = redis.call('HGETALL', KEYS[nw + j])
      for k = 1, #kv, 2 do
        if tonumber(kv[k]) > oldest then sum = sum + tonumber(kv[k + 1]) end
      end
    end
    if sum >= limit then denied, by, spent = nw + j - 1, 3, sum break end
  end
end
local out = {denied < 0 and 1 or 0, denied, by, spent}
for i = 1, nw do
  local s, r, t = st[i][1], st[i][2], st[i][3]
  if denied < 0 then
    r, t = r + 1, t + st[i][4]
    redis.call('HSET', KEYS[i], 's', s, 'r', r, 't', t)
    if st[i][5] then redis.call('PEXPIRE', KEYS[i], st[i][6]) end
  end
  out[#out + 1] = s
  out[#out + 1] = r
  out[#out + 1] = t
end
return out
"""

# KEYS: windows, then periods. ARGV: now, #windows, #periods, reserved, used, cost, then per
# window (start, tpm), then per period (bucket_ms, buckets, ttl_ms).
_SETTLE = """
local now, nw, np = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local reserved, used, cost = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 1, nw do
  local a = 6 + (i - 1) * 2
  local tpm = tonumber(ARGV[a + 2])
  if tpm >= 0 then
    local delta = used - math.min(reserved, tpm)
    if delta ~= 0 and redis.call('HGET', KEYS[i], 's') == ARGV[a + 1] then
      redis.call('HINCRBY', KEYS[i], 't', delta)
    end
  end
end
if cost > 0 then
  for j = 1, np do
    local a = 6 + nw * 2 + (j - 1) * 3
    local bms, n, ttl = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3]
    local key = KEYS[nw + j]
    local bucket = 0
    if bms > 0 then bucket = math.floor(now / bms) end
    redis.call('HINCRBY', key, bucket, ARGV[6])
    if bms > 0 then
      for _, f in ipairs(redis.call('HKEYS', key)) do
        if tonumber(f) <= bucket - n then redis.call('HDEL', key, f) end
      end
    end
    redis.call('PEXPIRE', key, ttl)
  end
end
return 1
"""

_CLAIM = """
local v = redis.call('HMGET', KEYS[1], 'st', 'fp', 'a')
if not v[1] then
  redis.call('HSET', KEYS[1], 'st', 'lock', 'fp', ARGV[1], 'o', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'run'}
end
if v[2] ~= ARGV[1] then return {'mismatch'} end
if v[1] == 'done' then return {'done', v[3]} end
return {'wait'}
"""

_RENEW = """
local v = redis.call('HMGET', KEYS[1], 'st', 'o')
if v[1] == 'lock' and v[2] == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""

# ARGV: owner, ttl_ms, answer (absent: release the lock).
_FINISH = """
local v = redis.call('HMGET', KEYS[1], 'st', 'o')
if v[1] ~= 'lock' or v[2] ~= ARGV[1] then return 0 end
if ARGV[3] == nil then redis.call('DEL', KEYS[1]) return 1 end
redis.call('HSET', KEYS[1], 'st', 'done', 'a', ARGV[3])
redis.call('HDEL', KEYS[1], 'o')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def _copy(done: asyncio.Future[None], source: asyncio.Future[None]) -> None:
    exc = source.exception()
    if exc is None:
        done.set_result(None)
    else:
        done.set_exception(exc)


_DENIED_BY: dict[int, DeniedBy] = {1: "requests", 2: "tokens", 3: "budget"}


class RedisStore:
    def __init__(self, url: str, timeout_s: float) -> None:
        self._check = Script(_CHECK)
        self._settle = Script(_SETTLE)
        self._claim = Script(_CLAIM)
        self._renew = Script(_RENEW)
        self._finish = Script(_FINISH)
        scripts = (self._check, self._settle, self._claim, self._renew, self._finish)
        self._redis = RespClient(url, timeout_s, scripts)
        self._down_until = 0.0
        # The check's command by the identity of its plan's windows, which the entry keeps
        # alive, so that an id is never reused while its entry stands.
        self._checks: dict[int, tuple[tuple[Window, ...], tuple[Period, ...], Command]] = {}

    async def _call(self, script: Script, payload: bytes) -> Any:
        if self._down_until and time.monotonic() < self._down_until:
            raise StoreUnavailable("Redis failed moments ago")
        try:
            result = await self._redis.evalsha(script, payload)
        except (RespError, OSError, TimeoutError) as exc:
            self._down_until = time.monotonic() + _BACKOFF_S
            raise StoreUnavailable(type(exc).__name__) from None
        self._down_until = 0.0
        return result

    async def check(
        self, windows: tuple[Window, ...], reserve: int, periods: tuple[Period, ...], now_ms: int
    ) -> CheckResult:
        command = self._check_command(windows, periods)
        out = await self._call(self._check, command.encode((now_ms, reserve)))
        states = tuple(
            WindowState(int(out[i]), int(out[i + 1]), int(out[i + 2]))
            for i in range(4, len(out), 3)
        )
        if out[0] == 1:
            return CheckResult(True, states)
        return CheckResult(False, states, int(out[1]), _DENIED_BY[int(out[2])], int(out[3]))

    def _check_command(self, windows: tuple[Window, ...], periods: tuple[Period, ...]) -> Command:
        entry = self._checks.get(id(windows))
        if entry is not None and entry[0] is windows and entry[1] is periods:
            return entry[2]
        keys = [w.key for w in windows] + [p.key for p in periods]
        args: list[Any] = [len(windows), len(periods)]
        for w in windows:
            args += (w.window_ms, -1 if w.rpm is None else w.rpm, -1 if w.tpm is None else w.tpm)
        for p in periods:
            args += (p.limit_nano, p.bucket_ms, p.buckets)
        command = self._check.prepared(keys, args, 2)
        if len(self._checks) >= _COMMANDS_CACHED:
            self._checks.clear()
        self._checks[id(windows)] = (windows, periods, command)
        return command

    def settle(
        self,
        windows: tuple[Window, ...],
        starts: tuple[int, ...],
        reserved: int,
        used: int,
        periods: tuple[Period, ...],
        cost_nano: int,
        now_ms: int,
    ) -> asyncio.Future[None]:
        keys = [w.key for w in windows] + [p.key for p in periods]
        args: list[Any] = [now_ms, len(windows), len(periods), reserved, used, cost_nano]
        for w, start in zip(windows, starts, strict=True):
            args += (start, -1 if w.tpm is None else w.tpm)
        for p in periods:
            args += (p.bucket_ms, p.buckets, p.ttl_ms)
        payload = self._settle.command(keys, args)
        if self._down_until and time.monotonic() < self._down_until:
            return asyncio.ensure_future(self._call(self._settle, payload))
        sent = self._redis.evalsha_nowait(self._settle, payload)
        if sent is None:  # not connected yet
            return asyncio.ensure_future(self._call(self._settle, payload))
        # Written already: nobody waits for the reply on the request path.
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent.add_done_callback(partial(self._settled, done, payload))
        return done

    def _settled(
        self, done: asyncio.Future[None], payload: bytes, sent: asyncio.Future[object]
    ) -> None:
        exc = sent.exception()
        if exc is None:
            self._down_until = 0.0
            done.set_result(None)
        elif isinstance(exc, RespError) and str(exc).startswith("NOSCRIPT"):
            # Redis restarted: load the script and run it again (the rare slow path).
            again = asyncio.ensure_future(self._call(self._settle, payload))
            again.add_done_callback(partial(_copy, done))
        else:
            self._down_until = time.monotonic() + _BACKOFF_S
            done.set_exception(StoreUnavailable(type(exc).__name__))

    async def claim(self, key: str, fingerprint: str, owner: str, lock_ms: int) -> Claim:
        out = await self._call(
            self._claim, self._claim.command([key], [fingerprint, owner, lock_ms])
        )
        state: ClaimState = out[0].decode()
        return Claim(state, out[1] if len(out) > 1 else None)

    async def renew(self, key: str, owner: str, lock_ms: int) -> None:
        await self._call(self._renew, self._renew.command([key], [owner, lock_ms]))

    async def finish(self, key: str, owner: str, answer: bytes | None, ttl_ms: int) -> None:
        args: list[Any] = [owner, ttl_ms] if answer is None else [owner, ttl_ms, answer]
        await self._call(self._finish, self._finish.command([key], args))

    async def ping(self) -> None:
        """For `/ready`: a round trip on the gateway's own connection, within its timeout."""
        await self._redis.call([b"PING"])

    async def close(self) -> None:
        await self._redis.close()
