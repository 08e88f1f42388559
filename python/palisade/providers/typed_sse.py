"""SSE framing for the streams whose events name themselves in their data's `type` (Anthropic
Messages, Cohere v2 chat): the SSE event name follows it, and an unnamed event stays unnamed."""

from __future__ import annotations

import orjson

from palisade.providers.base import Event


def frame(event: Event) -> bytes:
    name, data = event
    if isinstance(data, dict):
        kind = data.get("type")
        name = kind if isinstance(kind, str) else name
        text = orjson.dumps(data)
    else:
        text = str(data).encode()
    if name == "message":
        return b"data: " + text + b"\n\n"
    return b"event: " + name.encode() + b"\ndata: " + text + b"\n\n"
