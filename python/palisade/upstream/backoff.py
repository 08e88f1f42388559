"""How long to wait before the next attempt, and whether the worker may make it at all.

`delay` is exponential backoff with full jitter (the AWS Architecture Blog's recommendation:
it spreads retries of many clients best). A provider that says when to come back (`Retry-After`
in seconds or as an HTTP date, `retry-after-ms`, OpenAI's `x-ratelimit-reset-requests` /
`-tokens` durations such as `1s`, `6m0s`, `20ms`, Anthropic's `anthropic-ratelimit-*-reset`
timestamps) is believed instead.

`RetryBudget` bounds retries and fallbacks to a share of the worker's requests (Finagle's retry
budget): during an outage every request fails once instead of `retries + 1` times, so the
gateway does not multiply the load on a provider that is already down.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from palisade.config.routing import RetryBudgetConfig

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RESET_HEADERS = (
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-reset",
)


def delay(retry: int, base: float, cap: float) -> float:
    """The wait before the `retry`-th retry (from 0) of the same deployment."""
    return random.random() * min(cap, base * (1 << min(retry, 30)))


def wait_hint(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the provider asked to wait, from its answer's headers; None if it did not."""
    value = headers.get("retry-after-ms")
    if value is not None:
        seconds = _number(value)
        if seconds is not None:
            return seconds / 1000
    value = headers.get("retry-after")
    if value is not None:
        seconds = _number(value)
        if seconds is None:
            seconds = _http_date(value, now)
        if seconds is not None:
            return seconds
    longest = None
    for name in _RESET_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        seconds = _duration(value)
        if seconds is None:
            seconds = _timestamp(value, now)
        if seconds is not None and (longest is None or seconds > longest):
            longest = seconds
    return longest


def _number(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds else None  # NaN is not a wait


def _duration(value: str) -> float | None:
    """`1s`, `6m0s`, `1h2m3.5s`, `20ms`: OpenAI's rate-limit reset format."""
    text = value.strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _http_date(value: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def _timestamp(value: str, now: float) -> float | None:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


class RetryBudget:
    """Retries allowed: `ratio` of the requests of the last 10 s plus `min_per_s` a second,
    minus the retries already made. Two 10 s windows aligned on the clock, the older one
    weighted by how much of it still overlaps the last 10 s."""

    __slots__ = ("min_per_s", "previous", "ratio", "requests", "retries", "window")
    WINDOW_S = 10.0

    def __init__(self, config: RetryBudgetConfig) -> None:
        self.ratio = config.ratio
        self.min_per_s = config.min_per_s
        self.window = 0
        self.requests = 0
        self.retries = 0
        self.previous = (0, 0)

    def _roll(self, now: float) -> None:
        window = int(now // self.WINDOW_S)
        if window != self.window:
            fresh = window == self.window + 1
            self.previous = (self.requests, self.retries) if fresh else (0, 0)
            self.window, self.requests, self.retries = window, 0, 0

    def request(self) -> None:
        self._roll(time.monotonic())
        self.requests += 1

    def take(self) -> bool:
        """One retry or fallback, if the budget has it."""
        now = time.monotonic()
        self._roll(now)
        weight = 1.0 - (now - self.window * self.WINDOW_S) / self.WINDOW_S
        requests = self.requests + weight * self.previous[0]
        retries = self.retries + weight * self.previous[1]
        if retries + 1 > self.ratio * requests + self.min_per_s * self.WINDOW_S:
            return False
        self.retries += 1
        return True
