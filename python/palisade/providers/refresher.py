"""A credential renewed in the background (Google's access tokens, Entra ID's, AWS's
refreshable credentials): the request path only reads the current one, and a task renews it
before it runs out, again after a failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Refresher:
    """Runs `renew` after every `wait_s()` seconds; a failure goes to `failed` (to log it), and
    `retry_s` later the wait starts again (the current credential keeps serving meanwhile)."""

    __slots__ = ("_failed", "_renew", "_retry_s", "_task", "_wait_s")

    def __init__(
        self,
        renew: Callable[[], Awaitable[None]],
        wait_s: Callable[[], float],
        failed: Callable[[Exception], None],
        retry_s: float = 0.0,
    ) -> None:
        self._renew = renew
        self._wait_s = wait_s
        self._failed = failed
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None

    def start(self, name: str) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=name)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._wait_s())
            try:
                await self._renew()
            except Exception as exc:  # a renewal must never end the task
                self._failed(exc)
                if self._retry_s:
                    await asyncio.sleep(self._retry_s)
