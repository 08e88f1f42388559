"""A span processor that queues finished spans and exports them in batches from one thread.

The SDK's BatchSpanProcessor does the same job, but pays a fork check and, once its queue
holds a batch, an Event.set per span on the request path; here a span costs one deque append.
A full queue drops the span and counts it (`palisade_spans_dropped_total`), never blocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from prometheus_client import Counter

log = logging.getLogger("palisade.tracing")

SPANS_DROPPED = Counter(
    "palisade_spans_dropped", "Spans lost: the export queue was full or the export failed."
)
_LOG_EVERY_S = 30.0
MAX_QUEUE = 8192


class SpanQueue(SpanProcessor):
    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue: int = MAX_QUEUE,
        batch: int = 512,
        interval_s: float = 1.0,
    ) -> None:
        self.exporter = exporter
        self.max_queue = max_queue
        self.batch = batch
        self.interval_s = interval_s
        self._queue: deque[object] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._next_log = 0.0
        self._thread = threading.Thread(target=self._run, name="palisade-spans", daemon=True)
        self._thread.start()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if len(self._queue) >= self.max_queue:
            SPANS_DROPPED.inc()
            return
        self._queue.append(span)
        self._queued(len(self._queue))

    def _queued(self, waiting: int) -> None:
        """Wakes the exporter thread once a batch waits."""
        if waiting >= self.batch and not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            stopping = self._stopping
            self._export_all()
            if stopping:
                return

    def _export_all(self) -> None:
        while (batch := self._take()) is not None:
            payload, count = batch
            try:
                ok = self._send(payload, count)
            except Exception:
                log.exception("span export raised")
                ok = False
            if not ok:
                SPANS_DROPPED.inc(count)
                if time.monotonic() >= self._next_log:
                    self._next_log = time.monotonic() + _LOG_EVERY_S
                    log.warning("%d spans could not be exported", count)

    def _take(self) -> tuple[Any, int] | None:
        """The next batch to send and its number of spans; None when nothing waits."""
        if not self._queue:
            return None
        spans = [self._queue.popleft() for _ in range(min(self.batch, len(self._queue)))]
        return spans, len(spans)

    def _send(self, payload: Any, count: int) -> bool:
        return self.exporter.export(payload) is SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._export_all()
        return True

    def shutdown(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(10.0)
        self.exporter.shutdown()
