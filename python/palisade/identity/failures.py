"""Failed authentications, limited per client address and credential prefix and counted.

A pair that fails `limit` times within `window_s` is refused with 429 until the window of its
first failure has passed; a correct credential from another address is not affected, so a
guesser cannot lock its owner out. An address that sprays many different credentials is also
held, after ADDRESS_FACTOR times the limit across all of them. In process, per worker: the
limit is a brake on guessing (the secrets are 256-bit random), not an exact quota.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from prometheus_client import Counter

from palisade.errors import GatewayError

AUTH_FAILURES = Counter(
    "palisade_auth_failures",
    "Failed authentication attempts, by method and reason.",
    ["method", "reason"],
)
AUTH_THROTTLED = Counter(
    "palisade_auth_throttled",
    "Requests refused because their address and credential failed too often.",
)

_MAX_TRACKED = 100_000
ADDRESS_FACTOR = 10
_ANY = ""  # the prefix under which an address's failures are counted all together


class TooManyFailures(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "too_many_auth_failures"


class FailedAuthLimiter:
    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        # (address, prefix) -> (window start, failures in it)
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def check(self, address: str, prefix: str) -> None:
        """Raises TooManyFailures while the pair, or the address as a whole, is over its limit."""
        self._check((address, prefix), self.limit)
        self._check((address, _ANY), self.limit * ADDRESS_FACTOR)

    def _check(self, key: tuple[str, str], limit: int) -> None:
        entry = self._seen.get(key)
        if entry is None or entry[1] < limit:
            return
        wait = entry[0] + self.window_s - self._clock()
        if wait <= 0:
            del self._seen[key]
            return
        AUTH_THROTTLED.inc()
        raise TooManyFailures(
            "Palisade: too many failed authentication attempts from this address with this "
            f"credential; retry after {math.ceil(wait)} s.",
            headers={"retry-after": str(math.ceil(wait))},
        )

    def failed(
        self, address: str, prefix: str, method: str, reason: str, *, throttle: bool = True
    ) -> None:
        AUTH_FAILURES.labels(method=method, reason=reason).inc()
        if not throttle:
            return
        now = self._clock()
        for key in ((address, prefix), (address, _ANY)):
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.window_s:
                if len(self._seen) >= _MAX_TRACKED:
                    self._sweep(now)
                self._seen[key] = (now, 1)
            else:
                self._seen[key] = (entry[0], entry[1] + 1)

    def _sweep(self, now: float) -> None:
        self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window_s}
        if len(self._seen) >= _MAX_TRACKED:
            # Under a flood of distinct pairs, forget the oldest half rather than grow.
            keep = sorted(self._seen.items(), key=lambda kv: kv[1][0])[_MAX_TRACKED // 2 :]
            self._seen = dict(keep)
