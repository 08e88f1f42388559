"""The state limits, budgets and dedup share across requests, behind one small interface.

Two backends behave identically: `RedisStore` (many workers, many replicas) and `MemoryStore`
(one worker). Every operation is one atomic step: one Redis script call, or one synchronous
block in process. Callers pass the clock (`now_ms`), so both backends can be tested exactly.

Rate windows: a window opens with the first request of a scope and lasts `window_ms`; it counts
requests and tokens. Budgets: spend in nano-USD (integers, so sums are exact), per calendar
period (the period id is part of the key) or over a rolling window kept in `buckets` buckets.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal, Protocol


class StoreUnavailable(Exception):
    """The shared store did not answer in time (or refused); the failure policy applies."""


@dataclass(frozen=True, slots=True)
class Window:
    """One rate limit as it applies to one request."""

    key: str
    window_ms: int
    rpm: int | None
    tpm: int | None


@dataclass(frozen=True, slots=True)
class Period:
    """One budget as it applies to one request. `bucket_ms` 0: a calendar period whose id is in
    the key; otherwise a rolling window of `buckets` buckets of `bucket_ms`."""

    key: str
    limit_nano: int
    bucket_ms: int
    buckets: int
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class WindowState:
    start_ms: int
    requests: int
    tokens: int


DeniedBy = Literal["requests", "tokens", "budget"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    allowed: bool
    # Each window's state after the check (counting this request when it was allowed).
    windows: tuple[WindowState, ...]
    # What refused the request: the index of the window ("requests" / "tokens") or of the
    # period ("budget"); -1 and None when allowed.
    denied: int = -1
    denied_by: DeniedBy | None = None
    # Spend of the refusing budget.
    spent_nano: int = 0


ClaimState = Literal["run", "wait", "done", "mismatch"]


@dataclass(frozen=True, slots=True)
class Claim:
    state: ClaimState
    answer: bytes | None = None


class LimitsStore(Protocol):
    async def check(
        self, windows: tuple[Window, ...], reserve: int, periods: tuple[Period, ...], now_ms: int
    ) -> CheckResult:
        """Refuses when any window is full (one more request, or `reserve` more tokens, capped
        at the window's whole tpm) or any period's spend reached its limit; otherwise counts
        the request and reserves the tokens in every window. Nothing is counted on refusal."""

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
        """After the call: replaces each window's reservation (`reserved`, capped at its tpm)
        by the `used` tokens, if the window is still the one the check counted in (`starts`),
        and charges `cost_nano` to every period. Applied, or written to Redis, before this
        returns (so it is ordered before any later operation of this worker); the future
        says whether it succeeded (StoreUnavailable otherwise)."""

    async def claim(self, key: str, fingerprint: str, owner: str, lock_ms: int) -> Claim:
        """Dedup: `run` (the caller now holds the lock), `wait` (another executor holds it),
        `done` (the stored answer) or `mismatch` (the key was used with another body)."""

    async def renew(self, key: str, owner: str, lock_ms: int) -> None:
        """Extends a held lock; the executor is alive."""

    async def finish(self, key: str, owner: str, answer: bytes | None, ttl_ms: int) -> None:
        """Stores the answer (`None`: releases the lock, nothing stored) if `owner` still
        holds the lock."""

    async def close(self) -> None: ...
