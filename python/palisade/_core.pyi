"""Typed surface of the private Rust extension. Python code imports from here; nothing else
in the package touches the extension directly, so this stub is the whole contract."""

from typing import final

__version__: str

# ---- sse ---------------------------------------------------------------------------------

@final
class SseEvent:
    """One dispatched event. `event` defaults to "message"; `id` is the last event id seen
    (it persists across events, per the spec); `retry` is set only by this event's block."""

    @property
    def event(self) -> str: ...
    @property
    def data(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def retry(self) -> int | None: ...

@final
class SseParser:
    """Incremental WHATWG event-stream parser; feed network chunks of any size."""

    def __init__(self) -> None: ...
    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Returns the events that this chunk completes, in order."""
    def finish(self) -> bool:
        """End of stream: discards an unfinished event and resets the parser. Returns True
        when something was discarded (the stream was cut off mid-event)."""
