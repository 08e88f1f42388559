"""Waiting in end-to-end tests for what other processes do within a bound: a worker's poll, a
store's change."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def until(check: Callable[[], object], timeout: float, what: str, *, every: float = 0.05) -> float:
    """Polls `check()` every `every` seconds until it is true; returns the seconds it took,
    fails after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(every)
    return time.monotonic() - start


def wait_for(check: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Polls `check()` until it returns something true, and returns that; fails after
    `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
