"""What the mock received, for tests: `GET/DELETE /_mock/requests`, `GET /_mock/stats`.

In memory and per worker, which is why tests run the mock with one worker. Each request keeps
its parsed `body` (None unless a JSON value) and the exact bytes it came as (`raw_base64`), so a
test can tell that a body crossed the gateway byte for byte, not just with the same meaning.
"""

from __future__ import annotations

import base64
from collections import Counter, deque
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Scope


class Recorder:
    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.requests: deque[dict[str, Any]] = deque(maxlen=keep)
        self.counts: Counter[str] = Counter()

    async def received(self, request: Request) -> tuple[Any, bytes]:
        """Reads and records a request's body: the parsed body (None unless JSON) and its
        bytes."""
        raw = await request.body()
        try:
            body: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        self.record(request.scope, body, raw)
        return body, raw

    def record(self, scope: Scope, body: Any, raw: bytes = b"") -> None:
        path: str = scope["path"]
        self.counts[path] += 1
        if not self.keep:
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.requests.append(
            {
                "method": scope["method"],
                "path": path,
                "query": scope["query_string"].decode("latin-1"),
                "headers": headers,
                "body": body,
                "raw_base64": base64.b64encode(raw).decode("ascii"),
            }
        )

    def clear(self) -> None:
        self.requests.clear()
        self.counts.clear()

    def stats(self) -> dict[str, Any]:
        return {"requests": dict(self.counts)}
