from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from palisade.store.limits_store import Period
from palisade.store.memory import MemoryStore
from palisade.store.sqlite_spend import SpendLog

T0 = 1_764_547_200_000


def _exists(path: str) -> bool:
    return Path(path).exists()


async def test_spend_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "palisade.db")
    period = (Period("b", 1000, 0, 0, 10**12),)
    first = MemoryStore(SpendLog(path))
    await first.open()
    assert not _exists(path)  # nothing charged yet: no file
    await first.settle((), (), 0, 0, period, 999, T0)
    await first.close()

    second = MemoryStore(SpendLog(path))
    await second.open()
    assert (await second.check((), 0, period, T0)).allowed
    await second.settle((), (), 0, 0, period, 1, T0)
    refused = await second.check((), 0, period, T0)
    assert (refused.allowed, refused.spent_nano) == (False, 1000)
    await second.close()
    rows = sqlite3.connect(path).execute("SELECT key, nano FROM limit_spend").fetchall()
    assert rows == [("b", 1000)]


async def test_expired_spend_is_dropped_on_load(tmp_path: Path) -> None:
    path = str(tmp_path / "palisade.db")
    store = MemoryStore(SpendLog(path))
    await store.open()
    now = time.time_ns() // 1_000_000
    await store.settle((), (), 0, 0, (Period("old", 10, 0, 0, 1),), 10, now - 10_000)
    await store.close()
    again = MemoryStore(SpendLog(path))
    await again.open()
    assert (await again.check((), 0, (Period("old", 10, 0, 0, 1),), now)).allowed
    await again.close()
