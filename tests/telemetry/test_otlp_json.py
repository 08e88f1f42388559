from __future__ import annotations

import base64
import json
import random
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from prometheus_client import REGISTRY

from palisade.pipeline.context import Attempt, RequestContext
from palisade.pricing import Usage
from palisade.providers.openai import CHAT
from palisade.telemetry.otlp_json import OtlpJsonExporter, OtlpJsonSpanQueue, encode
from palisade.telemetry.span_queue import SpanQueue
from palisade.telemetry.tracing import Tracing
from tests.helpers.servers import free_port

RESOURCE = Resource.create({"service.name": "unit"})
SCOPE = InstrumentationScope("palisade", "1.2.3")


def span(n: int, **attributes: Any) -> ReadableSpan:
    return ReadableSpan(
        f"chat model-{n}",
        context=SpanContext(
            0xABC + n, 0x123 + n, False, TraceFlags(1), TraceState([("vendor", "v1")])
        ),
        parent=SpanContext(0xABC + n, 0x999, True, TraceFlags(1)),
        resource=RESOURCE,
        attributes=attributes,
        kind=SpanKind.CLIENT,
        status=Status(StatusCode.ERROR, "secret_detected"),
        start_time=1_700_000_000_000_000_000,
        end_time=1_700_000_000_500_000_000,
        instrumentation_scope=SCOPE,
    )


def parse(body: bytes) -> ExportTraceServiceRequest:
    """OTLP JSON writes ids in hex where proto3 JSON has base64; the rest is proto3 JSON."""
    payload = json.loads(body)
    for resource in payload["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for s in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    s[key] = base64.b64encode(bytes.fromhex(s[key])).decode()
    export = ExportTraceServiceRequest()
    json_format.Parse(json.dumps(payload), export)
    return export


def test_every_attribute_type_keeps_its_type() -> None:
    attributes = {
        "s": 'text with "quotes" and ünïcode',
        "i": 42,
        "b": True,
        "b0": False,
        "f": 0.25,
        "t": ("a", "b"),
        "big": 2**70,  # beyond OTLP's 64-bit integers: its decimal text
    }
    # Twice: the second time from the cache, which must not mix True with 1.
    for _ in range(2):
        export = parse(encode([span(1, **attributes), span(2, i=1, b=True)]))
        [resource_spans] = export.resource_spans
        resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        assert resource["service.name"] == "unit"
        [scope_spans] = resource_spans.scope_spans
        assert (scope_spans.scope.name, scope_spans.scope.version) == ("palisade", "1.2.3")
        first, second = scope_spans.spans
        values = {a.key: a.value for a in first.attributes}
        assert values["s"].string_value == attributes["s"]
        assert values["i"].int_value == 42
        assert values["b"].bool_value is True
        assert values["b0"].HasField("bool_value")
        assert values["f"].double_value == 0.25
        assert [v.string_value for v in values["t"].array_value.values] == ["a", "b"]
        assert values["big"].string_value == str(2**70)
        assert {a.key: a.value.WhichOneof("value") for a in second.attributes} == {
            "i": "int_value",
            "b": "bool_value",
        }
        assert first.trace_id == (0xABD).to_bytes(16, "big")
        assert first.span_id == (0x124).to_bytes(8, "big")
        assert first.parent_span_id == (0x999).to_bytes(8, "big")
        assert first.trace_state == "vendor=v1"
        assert first.kind == 3  # SPAN_KIND_CLIENT
        assert (first.status.code, first.status.message) == (2, "secret_detected")
        assert first.end_time_unix_nano - first.start_time_unix_nano == 500_000_000


class Failing(SpanExporter):
    def __init__(self) -> None:
        self.batches: list[int] = []
        self.done = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.batches.append(len(spans))
        self.done.set()
        return SpanExportResult.FAILURE


def dropped() -> float:
    return REGISTRY.get_sample_value("palisade_spans_dropped_total") or 0.0


def test_the_queue_counts_what_it_cannot_keep_or_send() -> None:
    exporter = Failing()
    # The exporter thread sleeps until shutdown: the last two spans do not fit.
    queue = SpanQueue(exporter, max_queue=3, batch=10, interval_s=3600)
    before = dropped()
    for n in range(5):
        queue.on_end(span(n))
    assert dropped() - before == 2
    queue.shutdown()
    assert exporter.done.is_set()
    assert exporter.batches == [3]
    assert dropped() - before == 5  # and the three the exporter refused


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Captured(OtlpJsonExporter):
    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9/v1/traces")
        self.bodies: list[bytes] = []

    def post(self, body: bytes, spans: int) -> SpanExportResult:
        self.bodies.append(body)
        return SpanExportResult.SUCCESS


class Refusing(Captured):
    def post(self, body: bytes, spans: int) -> SpanExportResult:
        super().post(body, spans)
        return SpanExportResult.FAILURE


@pytest.mark.parametrize("accepted", [True, False])
def test_the_json_queue_sends_its_spans_as_one_valid_request_and_counts_drops(
    accepted: bool,
) -> None:
    exporter = Captured() if accepted else Refusing()
    # The exporter thread sleeps until shutdown: the last two spans do not fit.
    queue = OtlpJsonSpanQueue(exporter, RESOURCE, SCOPE, max_queue=3, batch=10, interval_s=3600)
    before = dropped()
    for n in range(5):
        queue.on_end(span(n, index=n))
    assert dropped() - before == 2
    queue.shutdown()
    [body] = exporter.bodies
    export = parse(body)  # the envelope is valid OTLP
    [resource] = export.resource_spans
    attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert attributes["service.name"] == "unit"
    [scope] = resource.scope_spans
    assert (scope.scope.name, scope.scope.version) == ("palisade", "1.2.3")
    assert [s.attributes[0].value.int_value for s in scope.spans] == [0, 1, 2]
    assert dropped() - before == (2 if accepted else 5)


@pytest.mark.parametrize("error", [None, "secret_detected"])
@pytest.mark.parametrize("traceparent", [None, TRACEPARENT])
def test_the_gateways_own_spans_encode_like_the_sdks(
    error: str | None, traceparent: str | None
) -> None:
    """The request path writes its span's text without the SDK's span object; the text must
    be the one the SDK's span would have given, attribute for attribute."""
    ctx = RequestContext(
        surface=CHAT,
        model="gpt-4o",
        proxy_id="default",
        request_id="req_1",
        agent_id='agent "7"',
        user_id="u",
        session_id="s",
        execution_id="r",
        cost_usd=0.000125,
        limit_outcome="allowed",
        error_code=error,
        tokens_counted=True,
    )
    headers = {"traceparent": traceparent} if traceparent else {}
    usage = Usage(input_tokens=300, output_tokens=2**40, cached_tokens=12)
    texts = []
    for fast in (True, False):
        exporter = Captured()
        queue = OtlpJsonSpanQueue(exporter, RESOURCE, SCOPE, interval_s=3600)
        tracing = Tracing(queue)
        if not fast:
            tracing._json = None  # the SDK's span, encoded by the queue
        random.seed(7)
        tracing.span(
            ctx, headers, start_ns=10, end_ns=20, status=400 if error else 200, usage=usage,
            served_model="gpt-4o-2024-08-06",
        )  # fmt: skip
        queue.shutdown()
        [body] = exporter.bodies
        texts.append(json.loads(body))
    assert texts[0] == texts[1]
    [span_json] = texts[0]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert ("parentSpanId" in span_json) == (traceparent is not None)
    assert span_json["status"]["code"] == (2 if error else 0)


@pytest.mark.parametrize("traceparent", [None, TRACEPARENT])
def test_the_attempt_spans_encode_like_the_sdks(traceparent: str | None) -> None:
    ctx = RequestContext(surface=CHAT, model="gpt-4o", proxy_id="default")
    failed = Attempt("flaky:gpt-4o", 100.0)
    failed.status, failed.outcome, failed.latency, failed.next = 500, "server_error", 0.25, "retry"
    served = Attempt("openai:gpt-4o", 100.5)
    served.status, served.outcome, served.latency = 200, "ok", 1.5
    ctx.attempts = [failed, served]
    headers = {"traceparent": traceparent} if traceparent else {}
    texts = []
    for fast in (True, False):
        exporter = Captured()
        queue = OtlpJsonSpanQueue(exporter, RESOURCE, SCOPE, interval_s=3600)
        tracing = Tracing(queue)
        if not fast:
            tracing._json = None
        random.seed(7)
        tracing.span(
            ctx, headers, start_ns=99_000_000_000, end_ns=103_000_000_000, status=200,
            usage=Usage(), served_model="gpt-4o", clock_ns=1_000_000_000,
        )  # fmt: skip
        queue.shutdown()
        [body] = exporter.bodies
        texts.append(json.loads(body))
    assert texts[0] == texts[1]
    first, second, request = texts[0]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert request["name"] == "chat gpt-4o"
    for child in (first, second):
        assert child["parentSpanId"] == request["spanId"]
        assert child["traceId"] == request["traceId"]
    assert (first["startTimeUnixNano"], first["endTimeUnixNano"]) == (
        "101000000000",
        "101250000000",
    )
    assert (second["startTimeUnixNano"], second["endTimeUnixNano"]) == (
        "101500000000",
        "103000000000",
    )
    assert first["status"]["code"] == 2
    assert second["status"]["code"] == 0


class _Collector(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: _CollectorServer

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers["content-length"])))
        self.server.peers.add(self.client_address)
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()
        if self.server.drop:
            # Closed after the answer without saying so, as an idle timeout would.
            self.server.drop = False
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _CollectorServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Collector)
        self.bodies: list[bytes] = []
        self.peers: set[tuple[str, int]] = set()
        self.statuses: list[int] = []
        self.drop = False


def test_the_exporter_keeps_its_connection_and_reports_failures() -> None:
    server = _CollectorServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    exporter = OtlpJsonExporter(f"http://127.0.0.1:{server.server_port}/v1/traces")
    try:
        assert exporter.post(b"{}", 1) is SpanExportResult.SUCCESS
        assert exporter.post(b"[]", 1) is SpanExportResult.SUCCESS
        assert server.bodies == [b"{}", b"[]"]
        assert len(server.peers) == 1  # one connection for both
        server.statuses.append(500)
        assert exporter.post(b"{}", 1) is SpanExportResult.FAILURE
        # The collector drops the kept-alive connection: the next export goes on a new one.
        server.drop = True
        assert exporter.post(b"1", 1) is SpanExportResult.SUCCESS
        assert exporter.post(b"2", 1) is SpanExportResult.SUCCESS
        assert server.bodies[-2:] == [b"1", b"2"]
        assert len(server.peers) == 2
    finally:
        exporter.shutdown()
        server.shutdown()
        server.server_close()
    dead = OtlpJsonExporter(f"http://127.0.0.1:{free_port()}/v1/traces", timeout_s=1)
    assert dead.post(b"{}", 1) is SpanExportResult.FAILURE
