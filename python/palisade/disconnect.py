"""Stop upstream work when the client goes away.

Once the request body has been read, the next ASGI `receive()` only returns when the client
disconnects. A small watcher task waits on it and cancels the handler, so an abandoned request
does not keep a provider generating (and billing) for nobody.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request

T = TypeVar("T")


class ClientDisconnected(Exception):
    pass


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T:
    handler = asyncio.current_task()
    assert handler is not None
    gone = asyncio.Event()

    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                gone.set()
                handler.cancel()
                return

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        result = await work
        if gone.is_set():
            # The client left just as the work finished: take back the pending cancel.
            handler.uncancel()
            raise ClientDisconnected
        return result
    except asyncio.CancelledError:
        if gone.is_set():
            raise ClientDisconnected from None
        raise
    finally:
        watcher.cancel()
