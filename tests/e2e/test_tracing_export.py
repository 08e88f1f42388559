"""With `tracing.otlp_endpoint` set, a real Granian gateway exports its spans over OTLP/HTTP;
a small collector in the test receives and decodes them."""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.helpers.servers import free_port, start_process_server

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


class Collector(ThreadingHTTPServer):
    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append((self.path, headers, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def hex_ids_as_base64(body: bytes) -> str:
    """OTLP's JSON mapping writes ids in hex where proto3's writes bytes in base64; the rest
    is proto3 JSON, which the protobuf parser checks field by field."""
    payload = json.loads(body)
    for resource in payload["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json.dumps(payload)


def _spans(body: bytes, protocol: str) -> list[Any]:
    if protocol == "http/json":
        export = json_format.Parse(hex_ids_as_base64(body), ExportTraceServiceRequest())
    else:
        export = ExportTraceServiceRequest.FromString(body)
    return [s for r in export.resource_spans for scope in r.scope_spans for s in scope.spans]


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    server = Collector(free_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("protocol", ["http/json", "http/protobuf"])
def test_spans_leave_over_otlp_http(collector: Collector, tmp_path: Path, protocol: str) -> None:
    collector.requests.clear()
    mock_port, port = free_port(), free_port()
    config = tmp_path / "palisade.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: 1}}
store: {{sqlite_path: {tmp_path / "p.db"}}}
auto_providers: false
providers:
  mock: {{base_url: "http://127.0.0.1:{mock_port}/v1", api_key: k, models: ["gpt-*"]}}
tracing:
  otlp_endpoint: http://127.0.0.1:{collector.server_address[1]}/v1/traces
  otlp_protocol: {protocol}
  otlp_headers: {{x-collector-token: sesame}}
  service_name: palisade-e2e
"""
    )
    palisade = [sys.executable, "-m", "palisade.cli"]
    with (
        start_process_server([*palisade, "mock-upstream", "--port", str(mock_port)], mock_port),
        # The SDK's batch delay, shortened so that the test does not wait 5 s for the export.
        start_process_server(
            [*palisade, "serve", "--config", str(config)],
            port,
            env={"OTEL_BSP_SCHEDULE_DELAY": "100"},
        ),
        openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key="client-key",
            max_retries=0,
            default_headers={
                "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
                "X-Archestra-Session-Id": "conversation-5",
            },
        ) as client,
    ):
        answer = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
        )
        deadline = time.monotonic() + 20
        # The call's span and its attempt's child span (one export, or two).
        while sum(len(_spans(r[2], protocol)) for r in collector.requests) < 2:
            assert time.monotonic() < deadline, "no span reached the collector"
            time.sleep(0.05)
    path, headers, body = collector.requests[0]
    assert path == "/v1/traces"
    assert headers["x-collector-token"] == "sesame"
    if protocol == "http/json":
        assert headers["content-type"] == "application/json"
        export = json_format.Parse(hex_ids_as_base64(body), ExportTraceServiceRequest())
    else:
        assert headers["content-type"] == "application/x-protobuf"
        export = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = export.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "palisade-e2e"
    [scope_spans] = resource_spans.scope_spans
    assert scope_spans.scope.name == "palisade"
    spans = [s for r in collector.requests for s in _spans(r[2], protocol)]
    span, attempt = sorted(spans, key=lambda s: s.name.startswith("attempt "))
    assert attempt.name == "attempt mock:gpt-4o-mini"
    assert attempt.parent_span_id == span.span_id
    assert span.trace_id.hex() == TRACE_ID
    assert span.parent_span_id.hex() == PARENT_ID
    assert len(span.span_id) == 8
    assert span.name == "chat gpt-4o-mini"
    assert span.kind == Span.SpanKind.SPAN_KIND_CLIENT
    assert span.end_time_unix_nano > span.start_time_unix_nano > 0
    attributes = {a.key: a.value for a in span.attributes}
    assert attributes["gen_ai.conversation.id"].string_value == "conversation-5"
    assert attributes["gen_ai.request.model"].string_value == "gpt-4o-mini"
    assert attributes["gen_ai.operation.name"].string_value == "chat"
    assert answer.usage is not None
    assert attributes["gen_ai.usage.output_tokens"].int_value == answer.usage.completion_tokens
    assert attributes["http.response.status_code"].int_value == 200
