"""A deployment's circuit breaker: closed, open, half-open.

Closed, every call goes through; `consecutive_failures` failures in a row, or a `failure_rate`
over `window_s` once `min_calls` calls were seen, open it. Open, the deployment is skipped for
`cooldown_s`; then one trial call (or a health probe) is let through, half-open: its success
closes the breaker, its failure opens it again. The window is tumbling (counts reset every
`window_s`): two integers per deployment and no clock reading per call beyond the one the
attempt already made.

The state is this worker's; `sync` (when Redis is configured) shares openings between workers
and replicas through the `on_change` hook and `force`.
"""

from __future__ import annotations

from collections.abc import Callable

from palisade.config.routing import BreakerConfig

CLOSED, HALF_OPEN, OPEN = 0, 1, 2  # also the `llm_breaker_state` gauge's values
STATE_NAMES = {CLOSED: "closed", HALF_OPEN: "half_open", OPEN: "open"}


class Breaker:
    __slots__ = (
        "calls",
        "config",
        "consecutive",
        "failures",
        "on_change",
        "open_until",
        "state",
        "trial",
        "window_start",
    )

    def __init__(self, config: BreakerConfig) -> None:
        self.config = config
        self.state = CLOSED
        self.consecutive = 0
        self.calls = 0
        self.failures = 0
        self.window_start = 0.0
        self.open_until = 0.0
        # Half-open: a trial call is out, no other goes through until it ends.
        self.trial = False
        # Called with (state, open_until) on every change this worker makes.
        self.on_change: Callable[[int, float], None] | None = None

    def usable(self, now: float) -> bool:
        """Whether a call may go to the deployment now (without taking the half-open trial)."""
        state = self.state
        if state == CLOSED:
            return True
        if state == OPEN:
            return now >= self.open_until
        return not self.trial

    def admit(self, now: float) -> None:
        """The call chosen by `usable` starts: after the cooldown it is the trial."""
        if self.state == OPEN and now >= self.open_until:
            self._set(HALF_OPEN, 0.0)
        if self.state == HALF_OPEN:
            self.trial = True

    def success(self, now: float) -> None:
        self.consecutive = 0
        self._count(now, failed=False)
        if self.state != CLOSED:
            self.trial = False
            self._set(CLOSED, 0.0)

    def failure(self, now: float) -> None:
        self.consecutive += 1
        self._count(now, failed=True)
        config = self.config
        if (
            self.state == HALF_OPEN
            or self.consecutive >= config.consecutive_failures
            or (
                self.calls >= config.min_calls and self.failures >= config.failure_rate * self.calls
            )
        ):
            self.trial = False
            if self.state != OPEN:
                self._set(OPEN, now + config.cooldown_s)

    def release(self) -> None:
        """A trial call that ended with neither verdict (the client left)."""
        self.trial = False

    def force(self, state: int, open_until: float) -> None:
        """Another worker's verdict (`sync`), applied without calling `on_change` back."""
        if state == OPEN and (self.state != OPEN or open_until > self.open_until):
            self.state, self.open_until, self.trial = OPEN, open_until, False
        elif state == CLOSED and self.state != CLOSED:
            self.state, self.open_until, self.trial = CLOSED, 0.0, False
            self.consecutive = self.calls = self.failures = 0

    def _count(self, now: float, *, failed: bool) -> None:
        if now - self.window_start >= self.config.window_s:
            self.window_start, self.calls, self.failures = now, 0, 0
        self.calls += 1
        if failed:
            self.failures += 1

    def _set(self, state: int, open_until: float) -> None:
        self.state, self.open_until = state, open_until
        if state == CLOSED:
            self.calls = self.failures = 0
        if self.on_change is not None:
            self.on_change(state, open_until)
