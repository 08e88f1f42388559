from __future__ import annotations

import pytest

from palisade.identity.failures import (
    ADDRESS_FACTOR,
    AUTH_FAILURES,
    FailedAuthLimiter,
    TooManyFailures,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_pair_over_its_limit_gets_429_with_retry_after_until_the_window_ends() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        limiter.check("10.0.0.1", "pal-aaa")
        limiter.failed("10.0.0.1", "pal-aaa", "virtual_key", "invalid_api_key")
    clock.now += 20
    with pytest.raises(TooManyFailures) as info:
        limiter.check("10.0.0.1", "pal-aaa")
    assert info.value.status == 429
    assert info.value.headers["retry-after"] == "40"
    # Another address, or another credential from the same address, is not affected.
    limiter.check("10.0.0.2", "pal-aaa")
    limiter.check("10.0.0.1", "pal-bbb")
    clock.now += 40
    limiter.check("10.0.0.1", "pal-aaa")


def test_failures_of_a_verified_credential_are_counted_but_not_throttled() -> None:
    limiter = FailedAuthLimiter(limit=1, window_s=60, clock=Clock())
    before = AUTH_FAILURES.labels(method="virtual_key", reason="revoked_api_key")._value.get()
    for _ in range(5):
        limiter.failed("a", "p", "virtual_key", "revoked_api_key", throttle=False)
    limiter.check("a", "p")
    after = AUTH_FAILURES.labels(method="virtual_key", reason="revoked_api_key")._value.get()
    assert after - before == 5


def test_a_new_window_starts_after_the_old_one() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(limit=2, window_s=10, clock=clock)
    limiter.failed("a", "p", "jwt", "invalid_signature")
    clock.now += 11
    limiter.failed("a", "p", "jwt", "invalid_signature")
    limiter.check("a", "p")  # one failure in the current window
    limiter.failed("a", "p", "jwt", "invalid_signature")
    with pytest.raises(TooManyFailures):
        limiter.check("a", "p")


def test_an_address_spraying_credentials_is_held_as_a_whole() -> None:
    limiter = FailedAuthLimiter(limit=2, window_s=60, clock=Clock())
    for i in range(2 * ADDRESS_FACTOR):
        limiter.check("a", f"p{i}")  # each credential stays under its own limit
        limiter.failed("a", f"p{i}", "virtual_key", "invalid_api_key")
    with pytest.raises(TooManyFailures):
        limiter.check("a", "fresh")
    limiter.check("b", "fresh")
