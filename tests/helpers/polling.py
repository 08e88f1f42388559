"""Waiting in end-to-end tests for what other processes do within a bound: a worker's poll, a
store's change."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def until(check: Callable[[], object], timeout: float, what: str, *, every: float = 0.05) -> float:
    """Polls `check()` every `every` seconds until it is true; returns the seconds it took,
    fails after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(every)
    return time.monotonic() - start
