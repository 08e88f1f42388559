"""An OTLP/HTTP exporter with the JSON encoding, the spans written by the Rust extension.

The SDK's protobuf exporter builds a message object per attribute and costs about 70 us of CPU
per span; this one costs a few. OTLP/HTTP accepts JSON as well as protobuf
(`Content-Type: application/json`, ids in hex, 64-bit integers as strings), and collectors
read both; `tracing.otlp_protocol: http/protobuf` picks the SDK's exporter instead. The
gateway's own spans skip the SDK's span objects altogether (`OtlpJsonSpanQueue.push`).
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanKind

from palisade._core import SpanBuffer, encode_attributes, encode_span
from palisade.telemetry.span_queue import MAX_QUEUE, SPANS_DROPPED, SpanQueue

log = logging.getLogger("palisade.tracing")

_LOG_EVERY_S = 30.0


class OtlpJsonExporter(SpanExporter):
    def __init__(
        self, endpoint: str, headers: Mapping[str, str] | None = None, timeout_s: float = 10.0
    ) -> None:
        self.endpoint = endpoint
        self.headers = {**(headers or {}), "Content-Type": "application/json"}
        self.timeout_s = timeout_s
        self._next_log = 0.0
        self._conn: http.client.HTTPConnection | None = None
        self._path = "/"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.post(encode(spans), len(spans))

    def post(self, body: bytes, spans: int) -> SpanExportResult:
        try:
            try:
                status = self._post(body)
            except (OSError, http.client.HTTPException):
                # A kept-alive connection the collector closed meanwhile: once more, afresh.
                self._close()
                status = self._post(body)
        except (OSError, http.client.HTTPException) as exc:
            self._close()
            self._failed(spans, str(exc) or type(exc).__name__)
            return SpanExportResult.FAILURE
        if not 200 <= status < 300:
            self._failed(spans, f"HTTP {status}")
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _post(self, body: bytes) -> int:
        """One POST on the kept-alive connection (a new one per export would cost a connect,
        and urllib's opener machinery, every time)."""
        if self._conn is None:
            parts = urlsplit(self.endpoint)
            kind = (
                http.client.HTTPSConnection
                if parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = kind(parts.hostname or "localhost", parts.port, timeout=self.timeout_s)
            self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._conn.request("POST", self._path, body=body, headers=self.headers)
        answer = self._conn.getresponse()
        answer.read()
        if answer.will_close:
            self._close()
        return answer.status

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _failed(self, spans: int, why: str) -> None:
        if time.monotonic() >= self._next_log:
            self._next_log = time.monotonic() + _LOG_EVERY_S
            log.warning("OTLP export of %d spans failed: %s", spans, why)

    def shutdown(self) -> None:
        self._close()


class OtlpJsonSpanQueue(SpanQueue):
    """Spans of one resource and instrumentation scope, encoded when they end into a Rust
    `SpanBuffer`: the queue holds no Python object (nothing for the garbage collector to scan,
    no span text made a Python string), and the exporter thread takes each batch as one ready
    request body. A span of another resource is exported under this queue's."""

    def __init__(
        self,
        exporter: OtlpJsonExporter,
        resource: Resource,
        scope: InstrumentationScope,
        **options: Any,
    ) -> None:
        self.json_exporter = exporter
        self.resource = resource
        self.scope = scope
        head, tail = envelope([(resource, scope, ["\0"])]).decode().split("\0")
        self.buffer = SpanBuffer(head, tail, options.get("max_queue", MAX_QUEUE))
        super().__init__(exporter, **options)

    def push(self, *span: Any) -> None:
        """Queues a span given as `encode_span`'s arguments."""
        waiting = self.buffer.push(*span)
        if waiting is None:
            SPANS_DROPPED.inc()
            return
        self._queued(waiting)

    def on_end(self, span: ReadableSpan) -> None:
        self.push(*_span_arguments(span))

    def _take(self) -> tuple[Any, int] | None:
        return self.buffer.take(self.batch)

    def _send(self, payload: Any, count: int) -> bool:
        return self.json_exporter.post(payload, count) is SpanExportResult.SUCCESS


_Group = tuple[Resource | None, Any, list[str]]


def envelope(groups: Iterable[_Group]) -> bytes:
    """An ExportTraceServiceRequest in OTLP's JSON mapping from encoded spans, by resource and
    instrumentation scope."""
    by_resource: dict[int, tuple[Resource | None, list[str]]] = {}
    for resource, scope, encoded in groups:
        scope_json = (
            orjson.dumps({"name": scope.name, "version": scope.version or ""}).decode()
            if scope is not None
            else "{}"
        )
        by_resource.setdefault(id(resource), (resource, []))[1].append(
            f'{{"scope":{scope_json},"spans":[{",".join(encoded)}]}}'
        )
    parts = [
        f'{{"resource":{{"attributes":[{encode_attributes(dict(r.attributes) if r else {})}]}},'
        f'"scopeSpans":[{",".join(scopes)}]}}'
        for r, scopes in by_resource.values()
    ]
    return f'{{"resourceSpans":[{",".join(parts)}]}}'.encode()


def encode(spans: Sequence[ReadableSpan]) -> bytes:
    # Grouped by the identities of resource and scope: a Resource hashes by encoding its
    # attributes to JSON, each time.
    groups: dict[tuple[int, int], _Group] = {}
    for span in spans:
        key = (id(span.resource), id(span.instrumentation_scope))
        if key not in groups:
            groups[key] = (span.resource, span.instrumentation_scope, [])
        groups[key][2].append(_span(span))
    return envelope(groups.values())


def otlp_kind(kind: SpanKind) -> int:
    """OTLP counts SPAN_KIND_UNSPECIFIED as 0, the API's INTERNAL as 1."""
    return kind.value + 1


def _span_arguments(span: ReadableSpan) -> tuple[Any, ...]:
    """`encode_span`'s arguments for an SDK span."""
    context = span.context
    assert context is not None  # a finished span always has one
    status = span.status
    attributes = span.attributes or {}
    return (
        context.trace_id,
        context.span_id,
        span.parent.span_id if span.parent is not None else None,
        span.name,
        otlp_kind(span.kind),
        span.start_time or 0,
        span.end_time or 0,
        tuple(attributes),
        tuple(attributes.values()),
        status.status_code.value,
        status.description,
        context.trace_state.to_header() if context.trace_state else None,
    )


def _span(span: ReadableSpan) -> str:
    return encode_span(*_span_arguments(span))
