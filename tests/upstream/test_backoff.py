"""Waits between attempts: backoff with jitter, the provider's own hints, the retry budget."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from palisade.config.routing import RetryBudgetConfig
from palisade.upstream.backoff import RetryBudget, delay, wait_hint


def test_delay_is_jittered_below_an_exponential_cap() -> None:
    waits = [delay(3, 0.25, 8.0) for _ in range(2000)]
    assert all(0 <= w <= 2.0 for w in waits)  # 0.25 * 2**3
    assert max(waits) > 1.5  # full jitter spreads over the whole range
    assert min(waits) < 0.5
    assert all(delay(30, 0.25, 8.0) <= 8.0 for _ in range(100))


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "1"}, 1.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ratelimit-reset-requests": "1s"}, 1.0),
        ({"x-ratelimit-reset-requests": "6m0s"}, 360.0),
        ({"x-ratelimit-reset-tokens": "20ms"}, 0.02),
        ({"x-ratelimit-reset-requests": "1h2m3.5s"}, 3723.5),
        # The longer of the two resets: both limits must have refilled.
        ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "3s"}, 3.0),
        ({}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-3"}, None),
        ({"x-ratelimit-reset-requests": "1x"}, None),
    ],
)
def test_wait_hints(headers: dict[str, str], seconds: float | None) -> None:
    got = wait_hint(headers, time.time())
    if seconds is None:
        assert got is None
    else:
        assert got == pytest.approx(seconds)


def test_retry_after_as_an_http_date_and_anthropic_reset_timestamps() -> None:
    now = time.time()
    got = wait_hint({"retry-after": formatdate(now + 30, usegmt=True)}, now)
    assert got is not None
    assert 28 <= got <= 31
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 12))
    got = wait_hint({"anthropic-ratelimit-requests-reset": stamp}, now)
    assert got is not None
    assert 10 <= got <= 13
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 100))
    assert wait_hint({"anthropic-ratelimit-tokens-reset": past}, now) == 0.0


def test_budget_allows_a_share_of_requests_plus_a_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("palisade.upstream.backoff.time.monotonic", lambda: clock[0])
    budget = RetryBudget(RetryBudgetConfig(ratio=0.2, min_per_s=0.5))
    for _ in range(100):
        budget.request()
    # 0.2 * 100 + 0.5 * 10 s = 25 retries in the window, then none.
    granted = sum(budget.take() for _ in range(40))
    assert granted == 25
    # Half a window later the old window counts half.
    clock[0] += 15.0
    for _ in range(10):
        budget.request()
    # 0.2 * (10 + 0.5 * 100) + 5 - 0.5 * 25 = 4.5 -> 4 more.
    assert sum(budget.take() for _ in range(10)) == 4
    # Two windows of silence forget everything but the floor.
    clock[0] += 25.0
    assert sum(budget.take() for _ in range(10)) == 5


def test_a_zero_budget_never_retries() -> None:
    budget = RetryBudget(RetryBudgetConfig(ratio=0.0, min_per_s=0.0))
    for _ in range(50):
        budget.request()
    assert not budget.take()
