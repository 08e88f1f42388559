"""The state one request carries through the stages; each stage reads and fills its part."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from palisade.upstream.routing import Target


@dataclass(slots=True)
class RequestContext:
    endpoint: str
    raw_body: bytes = b""
    body: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    stream: bool = False
    target: Target | None = None
    # The gateway asked the provider for stream usage on its own and must hide it.
    injected_stream_usage: bool = False
    usage: dict[str, Any] | None = None
    status: int | None = None
    request_id: str = field(default_factory=lambda: f"req_{uuid.uuid4().hex}")
    started: float = field(default_factory=time.perf_counter)
    first_chunk_at: float | None = None

    def outgoing_body(self) -> bytes:
        """The bytes that leave for the provider: the client's own bytes unless a stage changed
        the request, so an untouched request is forwarded exactly as sent."""
        if self.target is not None and self.target.rewritten:
            self.body["model"] = self.target.model
        elif not self.injected_stream_usage:
            return self.raw_body
        return orjson.dumps(self.body)
