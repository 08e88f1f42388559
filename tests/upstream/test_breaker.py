"""The breaker's state machine, driven with explicit clock values."""

from __future__ import annotations

from palisade.config.routing import BreakerConfig
from palisade.upstream.breaker import CLOSED, HALF_OPEN, OPEN, Breaker


def breaker(**settings: float) -> tuple[Breaker, list[tuple[int, float]]]:
    config = BreakerConfig(
        **{"consecutive_failures": 3, "min_calls": 10, "window_s": 10.0, "cooldown_s": 5.0}
        | settings  # type: ignore[arg-type]
    )
    b = Breaker(config)
    changes: list[tuple[int, float]] = []
    b.on_change = lambda state, until: changes.append((state, until))
    return b, changes


def call(b: Breaker, now: float, *, ok: bool) -> None:
    assert b.usable(now)
    b.admit(now)
    if ok:
        b.success(now)
    else:
        b.failure(now)


def test_consecutive_failures_open_it_and_a_success_between_resets_the_count() -> None:
    b, changes = breaker()
    call(b, 0.0, ok=False)
    call(b, 0.1, ok=False)
    call(b, 0.2, ok=True)
    call(b, 0.3, ok=False)
    call(b, 0.4, ok=False)
    assert b.state == CLOSED
    assert changes == []
    call(b, 0.5, ok=False)
    assert b.state == OPEN
    assert changes == [(OPEN, 5.5)]
    assert not b.usable(0.6)
    assert not b.usable(5.4)


def test_the_failure_rate_opens_it_once_min_calls_were_seen() -> None:
    b, changes = breaker(consecutive_failures=100, failure_rate=0.5, min_calls=10)
    # Alternating: never two failures in a row, half of the calls fail.
    for i in range(9):
        call(b, i * 0.1, ok=i % 2 == 1)
    assert b.state == CLOSED  # 5 failures of 9 calls: above the rate, under min_calls
    call(b, 0.9, ok=True)
    assert b.state == CLOSED  # 5 of 10: the rate, but the last call succeeded
    call(b, 1.0, ok=False)
    assert b.state == OPEN  # 6 of 11
    assert changes == [(OPEN, 6.0)]


def test_the_window_is_tumbling() -> None:
    b, _ = breaker(consecutive_failures=100, failure_rate=0.5, min_calls=4, window_s=10.0)
    call(b, 0.0, ok=False)
    call(b, 0.1, ok=True)
    call(b, 0.2, ok=False)
    # A new window: the old calls no longer count.
    call(b, 10.5, ok=True)
    call(b, 10.6, ok=False)
    call(b, 10.7, ok=True)
    assert b.state == CLOSED
    call(b, 10.8, ok=False)  # 2 of 4 in this window
    assert b.state == OPEN


def test_after_the_cooldown_exactly_one_trial_goes_through_and_its_success_closes() -> None:
    b, changes = breaker()
    for i in range(3):
        call(b, i * 0.1, ok=False)
    until = 0.2 + 5.0
    assert not b.usable(until - 0.01)
    assert b.usable(until)
    b.admit(until)
    assert b.state == HALF_OPEN
    assert b.trial
    assert not b.usable(until + 0.1)  # the trial is out: nobody else
    b.success(until + 0.2)
    assert b.state == CLOSED
    assert not b.trial
    assert b.usable(until + 0.3)
    assert changes == [(OPEN, until), (HALF_OPEN, 0.0), (CLOSED, 0.0)]
    # Closed afresh: the counts start over.
    call(b, until + 1, ok=False)
    call(b, until + 2, ok=False)
    assert b.state == CLOSED


def test_a_failed_trial_opens_it_again_for_a_whole_cooldown() -> None:
    b, changes = breaker()
    for i in range(3):
        call(b, float(i), ok=False)
    b.admit(7.0)
    assert b.state == HALF_OPEN
    b.failure(7.5)
    assert b.state == OPEN
    assert not b.trial
    assert b.open_until == 12.5
    assert not b.usable(12.4)
    assert changes[-1] == (OPEN, 12.5)


def test_a_trial_released_without_verdict_lets_the_next_call_be_the_trial() -> None:
    b, changes = breaker()
    for i in range(3):
        call(b, float(i), ok=False)
    b.admit(8.0)
    assert not b.usable(8.1)
    b.release()
    assert b.state == HALF_OPEN
    assert b.usable(8.2)
    b.admit(8.2)
    assert b.trial
    assert not b.usable(8.3)
    assert changes == [(OPEN, 7.0), (HALF_OPEN, 0.0)]  # no second half-open


def test_release_in_closed_state_changes_nothing() -> None:
    b, changes = breaker()
    b.admit(0.0)
    b.release()
    assert b.state == CLOSED
    assert b.usable(0.0)
    assert changes == []


def test_force_applies_another_workers_verdict_without_calling_back() -> None:
    b, changes = breaker()
    b.force(OPEN, 20.0)
    assert b.state == OPEN
    assert b.open_until == 20.0
    assert not b.usable(19.9)
    assert b.usable(20.0)
    b.force(OPEN, 15.0)  # an older, shorter opening does not shorten it
    assert b.open_until == 20.0
    b.force(OPEN, 30.0)
    assert b.open_until == 30.0
    b.force(CLOSED, 0.0)
    assert b.state == CLOSED
    assert b.usable(1.0)
    assert changes == []


def test_a_forced_close_clears_the_counts_and_a_trial() -> None:
    b, _ = breaker()
    call(b, 0.0, ok=False)
    call(b, 0.1, ok=False)
    b.force(CLOSED, 0.0)  # nothing to do: already closed, the counts stay
    call(b, 0.2, ok=False)
    assert b.state == OPEN
    b.admit(5.2)
    assert b.trial
    b.force(CLOSED, 0.0)
    assert b.state == CLOSED
    assert not b.trial
    call(b, 6.0, ok=False)
    call(b, 6.1, ok=False)
    assert b.state == CLOSED  # counted from the close
