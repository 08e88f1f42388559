"""The in-process backend: the same semantics as Redis for one worker, with spend persisted to
SQLite so that budgets survive a restart."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from palisade.store.limits_store import (
    CheckResult,
    Claim,
    DeniedBy,
    Period,
    Window,
    WindowState,
)
from palisade.store.sqlite_spend import SpendLog

# Expired windows and answers are dropped once this many keys were added since the last sweep.
_SWEEP_EVERY = 1024


@dataclass(slots=True)
class _Entry:
    state: str  # "lock" | "done"
    fingerprint: str
    owner: str
    answer: bytes | None
    expires_ms: int


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class MemoryStore:
    def __init__(self, spend_log: SpendLog | None = None) -> None:
        self._windows: dict[str, list[int]] = {}  # key -> [start, requests, tokens]
        self._spend: dict[str, dict[int, int]] = {}  # key -> bucket -> nano-USD
        self._spend_expiry: dict[str, int] = {}
        self._dedup: dict[str, _Entry] = {}
        self._added = 0
        self._log = spend_log

    async def open(self) -> None:
        if self._log is not None:
            now = _wall_ms()
            for key, bucket, nano, expires_ms in await self._log.load(now):
                self._spend.setdefault(key, {})[bucket] = nano
                self._spend_expiry[key] = max(self._spend_expiry.get(key, 0), expires_ms)

    async def check(
        self, windows: tuple[Window, ...], reserve: int, periods: tuple[Period, ...], now_ms: int
    ) -> CheckResult:
        states: list[list[int]] = []
        denied = -1
        denied_by: DeniedBy | None = None
        for i, w in enumerate(windows):
            state = self._windows.get(w.key)
            if state is None or now_ms >= state[0] + w.window_ms:
                state = [now_ms, 0, 0]
            states.append(state)
            if denied >= 0:
                continue
            if w.rpm is not None and state[1] + 1 > w.rpm:
                denied, denied_by = i, "requests"
            elif w.tpm is not None and (
                state[2] >= w.tpm or state[2] + min(reserve, w.tpm) > w.tpm
            ):
                denied, denied_by = i, "tokens"
        spent = 0
        if denied < 0:
            for j, p in enumerate(periods):
                spent = self._spent(p, now_ms)
                if spent >= p.limit_nano:
                    denied, denied_by = len(windows) + j, "budget"
                    break
        if denied >= 0:
            return CheckResult(
                False,
                tuple(WindowState(*s) for s in states),
                denied,
                denied_by,
                spent if denied_by == "budget" else 0,
            )
        for w, state in zip(windows, states, strict=True):
            state[1] += 1
            if w.tpm is not None:
                state[2] += min(reserve, w.tpm)
            if self._windows.get(w.key) is not state:
                self._windows[w.key] = state
                self._added += 1
        self._maybe_sweep(now_ms, windows)
        return CheckResult(True, tuple(WindowState(*s) for s in states))

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
        for w, start in zip(windows, starts, strict=True):
            if w.tpm is None:
                continue
            state = self._windows.get(w.key)
            if state is not None and state[0] == start:
                state[2] += used - min(reserved, w.tpm)
        if cost_nano > 0:
            for p in periods:
                bucket = now_ms // p.bucket_ms if p.bucket_ms else 0
                buckets = self._spend.setdefault(p.key, {})
                buckets[bucket] = buckets.get(bucket, 0) + cost_nano
                if p.bucket_ms:
                    for old in [b for b in buckets if b <= bucket - p.buckets]:
                        del buckets[old]
                expires_ms = now_ms + p.ttl_ms
                self._spend_expiry[p.key] = expires_ms
                if self._log is not None:
                    self._log.add(p.key, bucket, cost_nano, expires_ms)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def _spent(self, p: Period, now_ms: int) -> int:
        buckets = self._spend.get(p.key)
        if not buckets:
            return 0
        if not p.bucket_ms:
            return buckets.get(0, 0)
        oldest = now_ms // p.bucket_ms - p.buckets
        return sum(v for b, v in buckets.items() if b > oldest)

    def _maybe_sweep(self, now_ms: int, windows: tuple[Window, ...]) -> None:
        if self._added < _SWEEP_EVERY:
            return
        self._added = 0
        longest = max((w.window_ms for w in windows), default=60_000)
        for key in [k for k, s in self._windows.items() if now_ms >= s[0] + longest]:
            del self._windows[key]
        for key in [k for k, e in self._spend_expiry.items() if e <= now_ms]:
            del self._spend_expiry[key]
            self._spend.pop(key, None)
        wall = _wall_ms()
        for key in [k for k, e in self._dedup.items() if e.expires_ms <= wall]:
            del self._dedup[key]

    async def claim(self, key: str, fingerprint: str, owner: str, lock_ms: int) -> Claim:
        now = _wall_ms()
        entry = self._dedup.get(key)
        if entry is None or entry.expires_ms <= now:
            self._dedup[key] = _Entry("lock", fingerprint, owner, None, now + lock_ms)
            self._added += 1
            return Claim("run")
        if entry.fingerprint != fingerprint:
            return Claim("mismatch")
        if entry.state == "done":
            return Claim("done", entry.answer)
        return Claim("wait")

    async def renew(self, key: str, owner: str, lock_ms: int) -> None:
        entry = self._dedup.get(key)
        if entry is not None and entry.state == "lock" and entry.owner == owner:
            entry.expires_ms = _wall_ms() + lock_ms

    async def finish(self, key: str, owner: str, answer: bytes | None, ttl_ms: int) -> None:
        entry = self._dedup.get(key)
        if entry is None or entry.state != "lock" or entry.owner != owner:
            return
        if answer is None:
            del self._dedup[key]
            return
        entry.state, entry.answer, entry.expires_ms = "done", answer, _wall_ms() + ttl_ms

    async def close(self) -> None:
        if self._log is not None:
            await self._log.close()
