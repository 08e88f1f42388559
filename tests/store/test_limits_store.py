"""The store contract, run against both backends (Redis and in-process) with the same tests."""

from __future__ import annotations

import asyncio

from palisade.store.limits_store import LimitsStore, Period, Window

T0 = 1_764_547_200_000  # a fixed clock: every expectation below is exact


def rpm(n: int, key: str = "w") -> Window:
    return Window(key, 60_000, n, None)


def tpm(n: int, key: str = "t") -> Window:
    return Window(key, 60_000, None, n)


async def test_rpm_counts_and_refuses_without_counting(store: LimitsStore) -> None:
    w = (rpm(3),)
    for expected in (1, 2, 3):
        result = await store.check(w, 0, (), T0 + expected)
        assert result.allowed
        assert result.windows[0].requests == expected
        assert result.windows[0].start_ms == T0 + 1
    refused = await store.check(w, 0, (), T0 + 10)
    assert not refused.allowed
    assert (refused.denied, refused.denied_by) == (0, "requests")
    assert refused.windows[0].requests == 3  # a refusal is not counted


async def test_window_reopens_after_a_minute(store: LimitsStore) -> None:
    w = (rpm(1),)
    assert (await store.check(w, 0, (), T0)).allowed
    assert not (await store.check(w, 0, (), T0 + 59_999)).allowed
    again = await store.check(w, 0, (), T0 + 60_000)
    assert again.allowed
    assert again.windows[0].start_ms == T0 + 60_000
    assert again.windows[0].requests == 1


async def test_scopes_are_independent(store: LimitsStore) -> None:
    assert (await store.check((rpm(1, "a"),), 0, (), T0)).allowed
    assert (await store.check((rpm(1, "b"),), 0, (), T0)).allowed
    assert not (await store.check((rpm(1, "a"),), 0, (), T0)).allowed


async def test_one_full_limit_refuses_and_counts_in_none(store: LimitsStore) -> None:
    loose, tight = rpm(10, "loose"), rpm(1, "tight")
    assert (await store.check((loose, tight), 0, (), T0)).allowed
    refused = await store.check((loose, tight), 0, (), T0)
    assert (refused.allowed, refused.denied, refused.denied_by) == (False, 1, "requests")
    assert (await store.check((loose,), 0, (), T0)).windows[0].requests == 2


async def test_tpm_reservation_and_settlement_are_exact(store: LimitsStore) -> None:
    w = (tpm(1000),)
    first = await store.check(w, 300, (), T0)
    assert first.allowed
    assert first.windows[0].tokens == 300
    await store.settle(w, (first.windows[0].start_ms,), 300, 120, (), 0, T0 + 5)
    second = await store.check(w, 300, (), T0 + 10)
    assert second.windows[0].tokens == 120 + 300
    # More usage than reserved is charged too.
    await store.settle(w, (second.windows[0].start_ms,), 300, 900, (), 0, T0 + 20)
    third = await store.check(w, 1, (), T0 + 30)
    assert (third.allowed, third.denied_by) == (False, "tokens")
    assert third.windows[0].tokens == 1020


async def test_tpm_refuses_what_does_not_fit_and_caps_a_huge_reservation(
    store: LimitsStore,
) -> None:
    w = (tpm(100),)
    assert (await store.check(w, 60, (), T0)).allowed
    refused = await store.check(w, 50, (), T0)
    assert (refused.allowed, refused.denied_by, refused.windows[0].tokens) == (False, "tokens", 60)
    fresh = (tpm(100, "fresh"),)
    capped = await store.check(fresh, 5000, (), T0)
    assert capped.allowed
    assert capped.windows[0].tokens == 100
    await store.settle(fresh, (T0,), 5000, 30, (), 0, T0 + 1)
    assert (await store.check(fresh, 10, (), T0 + 2)).windows[0].tokens == 40


async def test_settlement_into_a_closed_window_is_dropped(store: LimitsStore) -> None:
    w = (tpm(1000),)
    assert (await store.check(w, 500, (), T0)).allowed
    reopened = await store.check(w, 10, (), T0 + 60_000)
    assert reopened.windows[0].tokens == 10
    await store.settle(w, (T0,), 500, 900, (), 0, T0 + 60_001)  # the old window's settlement
    assert (await store.check(w, 0, (), T0 + 60_002)).windows[0].tokens == 10


async def test_concurrent_checks_admit_exactly_the_limit(store: LimitsStore) -> None:
    w = (rpm(7),)
    results = await asyncio.gather(*(store.check(w, 0, (), T0) for _ in range(20)))
    assert sum(r.allowed for r in results) == 7


def calendar(limit_nano: int, key: str = "b") -> Period:
    return Period(key, limit_nano, 0, 0, 86_400_000)


async def test_budget_charges_and_refuses_once_spent(store: LimitsStore) -> None:
    p = (calendar(1000),)
    assert (await store.check((), 0, p, T0)).allowed
    await store.settle((), (), 0, 0, p, 600, T0)
    assert (await store.check((), 0, p, T0)).allowed  # 600 < 1000
    await store.settle((), (), 0, 0, p, 400, T0)
    refused = await store.check((), 0, p, T0)
    assert (refused.allowed, refused.denied, refused.denied_by) == (False, 0, "budget")
    assert refused.spent_nano == 1000


async def test_a_refused_budget_counts_no_request(store: LimitsStore) -> None:
    p = (calendar(1),)
    await store.settle((), (), 0, 0, p, 5, T0)
    refused = await store.check((rpm(5),), 0, p, T0)
    assert (refused.denied, refused.denied_by) == (1, "budget")
    assert (await store.check((rpm(5),), 0, (), T0)).windows[0].requests == 1


async def test_rolling_budget_forgets_old_buckets(store: LimitsStore) -> None:
    hour = 3_600_000
    p = (Period("r", 1000, hour, 24, 25 * hour),)
    await store.settle((), (), 0, 0, p, 1000, T0)
    assert not (await store.check((), 0, p, T0 + 23 * hour)).allowed
    assert (await store.check((), 0, p, T0 + 25 * hour)).allowed


async def test_dedup_claim_wait_done_mismatch(store: LimitsStore) -> None:
    assert (await store.claim("k", "fp1", "a", 10_000)).state == "run"
    assert (await store.claim("k", "fp1", "b", 10_000)).state == "wait"
    assert (await store.claim("k", "fp2", "b", 10_000)).state == "mismatch"
    await store.finish("k", "b", b"not the owner", 10_000)  # ignored
    assert (await store.claim("k", "fp1", "b", 10_000)).state == "wait"
    await store.finish("k", "a", b"answer", 10_000)
    done = await store.claim("k", "fp1", "c", 10_000)
    assert (done.state, done.answer) == ("done", b"answer")
    assert (await store.claim("k", "fp2", "c", 10_000)).state == "mismatch"


async def test_dedup_release_lets_the_next_run(store: LimitsStore) -> None:
    assert (await store.claim("k", "fp", "a", 10_000)).state == "run"
    await store.finish("k", "a", None, 10_000)
    assert (await store.claim("k", "fp", "b", 10_000)).state == "run"


async def test_dedup_lock_of_a_dead_executor_expires(store: LimitsStore) -> None:
    assert (await store.claim("k", "fp", "dead", 100)).state == "run"
    assert (await store.claim("k", "fp", "b", 100)).state == "wait"
    deadline = asyncio.get_running_loop().time() + 5
    while (claim := await store.claim("k", "fp", "b", 10_000)).state == "wait":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    assert claim.state == "run"
    await store.finish("k", "dead", b"late", 10_000)  # the old owner no longer holds it
    assert (await store.claim("k", "fp", "c", 10_000)).state == "wait"


async def test_dedup_renewal_keeps_the_lock(store: LimitsStore) -> None:
    assert (await store.claim("k", "fp", "a", 150)).state == "run"
    for _ in range(6):
        await asyncio.sleep(0.05)
        await store.renew("k", "a", 150)
        assert (await store.claim("k", "fp", "b", 150)).state == "wait"


async def test_stored_answer_expires(store: LimitsStore) -> None:
    assert (await store.claim("k", "fp", "a", 10_000)).state == "run"
    await store.finish("k", "a", b"x", 100)
    deadline = asyncio.get_running_loop().time() + 5
    while (await store.claim("k", "fp", "b", 10_000)).state == "done":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
