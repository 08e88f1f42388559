"""OpenTelemetry: one span per model call, with the GenAI semantic-convention attributes.

Off unless `tracing.otlp_endpoint` is set; then nothing of OpenTelemetry runs on the request
path at all. When on, the span is built when the request ends, as the SDK's finished-span type
(`ReadableSpan`) with the request's own start and end times, and handed to the span processor:
no span object lives across the request's awaits, and none of the SDK's per-span bookkeeping
(attribute validation, locks, the context stack) runs, which would cost more than the rest of
the record. A client's W3C `traceparent` (and `tracestate`) makes the span its child and decides
sampling (parent-based, then `tracing.sample_ratio` by trace id, as the SDK's
`ParentBased(TraceIdRatioBased)`). Spans leave in batches from the SDK's exporter thread, over
OTLP/HTTP in JSON (`otlp_json.py`) or protobuf (the SDK's exporter), queued by `SpanQueue`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from palisade import __version__
from palisade.config import TracingConfig
from palisade.pipeline.context import RequestContext
from palisade.pricing import Usage
from palisade.telemetry.otlp_json import OtlpJsonExporter, OtlpJsonSpanQueue, otlp_kind
from palisade.telemetry.span_queue import SpanQueue

OPERATIONS = {
    "chat/completions": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "responses": "chat",
    "messages": "chat",
}
# Our provider names -> the semantic conventions' well-known `gen_ai.provider.name` values.
PROVIDER_NAMES = {
    "openai": "openai",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "gemini": "gcp.gemini",
    "xai": "x_ai",
    "anthropic": "anthropic",
}
# The span's attributes, in the order `Tracing.span` lists their values.
ATTRIBUTES = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.conversation.id",
    "gen_ai.agent.id",
    "user.id",
    "palisade.execution.id",
    "http.response.status_code",
    "error.type",
    "palisade.proxy.id",
    "palisade.request.id",
    "palisade.auth.method",
    "palisade.key.id",
    "palisade.tokens_counted",
    "palisade.cost_usd",
    "palisade.limit.outcome",
    "palisade.guardrail.actions",
)
# A child span per call to a provider (retries and fallbacks each make one), in this order.
ATTEMPT_ATTRIBUTES = (
    "palisade.deployment",
    "gen_ai.provider.name",
    "palisade.attempt",
    "http.response.status_code",
    "palisade.attempt.outcome",
    "palisade.attempt.next",
    "error.type",
)
SCOPE = InstrumentationScope("palisade", __version__)
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_OK = Status(StatusCode.UNSET)
# OTLP's status codes, read once (an enum member's `.value` is a descriptor call each time).
_UNSET, _ERROR = StatusCode.UNSET.value, StatusCode.ERROR.value
_NO_STATE = TraceState()
_LOW_64 = (1 << 64) - 1
_OTLP_CLIENT = otlp_kind(SpanKind.CLIENT)


def parse_traceparent(traceparent: str, tracestate: str | None = None) -> SpanContext | None:
    """The remote parent a W3C `traceparent` names; None when the header is not valid."""
    m = _TRACEPARENT.fullmatch(traceparent.strip())
    if m is None:
        return None
    version, trace_hex, span_hex, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if not trace_id or not span_id:
        return None
    return SpanContext(
        trace_id,
        span_id,
        is_remote=True,
        trace_flags=TraceFlags(int(flags, 16)),
        trace_state=TraceState.from_header([tracestate]) if tracestate else _NO_STATE,
    )


class Tracing:
    def __init__(
        self,
        processor: SpanProcessor,
        *,
        resource: Resource | None = None,
        sample_ratio: float = 1.0,
    ) -> None:
        self.processor = processor
        self.resource = resource or Resource.create({"service.name": "palisade"})
        self.scope = SCOPE
        # OTLP JSON: the span is encoded at once into the queue, no SDK span object between.
        self._json: OtlpJsonSpanQueue | None = None
        if isinstance(processor, OtlpJsonSpanQueue):
            if resource is not None and resource is not processor.resource:
                raise ValueError("an OTLP JSON queue exports under its own resource")
            self._json = processor
            self.resource, self.scope = processor.resource, processor.scope
        # TraceIdRatioBased's rule: the low 64 bits of the trace id under ratio * 2**64.
        self._bound = round(sample_ratio * (_LOW_64 + 1))

    @classmethod
    def from_config(cls, config: TracingConfig) -> Tracing | None:
        if config.otlp_endpoint is None:
            return None
        resource = Resource.create({"service.name": config.service_name})
        processor: SpanProcessor
        if config.otlp_protocol == "http/protobuf":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processor = SpanQueue(
                OTLPSpanExporter(
                    endpoint=config.otlp_endpoint, headers=dict(config.otlp_headers), timeout=10
                )
            )
        else:
            processor = OtlpJsonSpanQueue(
                OtlpJsonExporter(config.otlp_endpoint, dict(config.otlp_headers)),
                resource,
                SCOPE,
            )
        return cls(processor, resource=resource, sample_ratio=config.sample_ratio)

    def shutdown(self) -> None:
        self.processor.shutdown()

    def span(
        self,
        ctx: RequestContext,
        headers: Mapping[str, str],
        *,
        start_ns: int,
        end_ns: int,
        status: int,
        usage: Usage,
        served_model: str | None,
        clock_ns: int = 0,
    ) -> str | None:
        """Records the call's span, and a child span per attempt (`clock_ns`: the wall clock
        minus `perf_counter`, in ns, which places them); returns its trace id (hex) for the
        interaction record, or None when the call started a trace that sampling left out."""
        # `in` first: Starlette's `get` of a missing header raises and catches a KeyError.
        parent = (
            parse_traceparent(headers["traceparent"], headers.get("tracestate"))
            if "traceparent" in headers
            else None
        )
        if parent is not None:
            trace_id, state = parent.trace_id, parent.trace_state
            if not parent.trace_flags.sampled:
                return f"{trace_id:032x}"  # the client's trace, which it chose not to keep
        else:
            trace_id, state = random.getrandbits(128) or 1, _NO_STATE
            if (trace_id & _LOW_64) >= self._bound:
                return None
        operation = OPERATIONS.get(ctx.endpoint, ctx.endpoint)
        provider = None
        if ctx.target is not None:
            provider = PROVIDER_NAMES.get(ctx.target.provider.name, ctx.target.provider.name)
        error = ctx.error_code or (str(status) if status >= 400 else None)
        # In `ATTRIBUTES` order; None: not known, left out.
        values = (
            operation,
            provider,
            ctx.model,
            served_model,
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_tokens or None,
            ctx.session_id,
            ctx.agent_id,
            ctx.user_id,
            ctx.execution_id,
            status,
            error,
            ctx.proxy_id,
            ctx.request_id,
            ctx.auth_method,
            ctx.key_id,
            ctx.tokens_counted,
            ctx.cost_usd,
            ctx.limit_outcome,
            tuple(sorted({f"{d.guardrail}:{d.action}" for d in ctx.decisions}))
            if ctx.decisions
            else None,
        )
        name = f"{operation} {ctx.model}" if ctx.model else operation
        span_id = random.getrandbits(64) or 1
        if ctx.attempts:
            self._attempts(ctx, trace_id, span_id, state, clock_ns, end_ns)
        if self._json is not None:
            self._json.push(
                trace_id,
                span_id,
                parent.span_id if parent is not None else None,
                name,
                _OTLP_CLIENT,
                start_ns,
                end_ns,
                ATTRIBUTES,
                values,
                _UNSET if error is None else _ERROR,
                None if error is None else str(error),
                state.to_header() if state is not _NO_STATE and state else None,
            )
            return f"{trace_id:032x}"
        self.processor.on_end(
            ReadableSpan(
                name,
                context=SpanContext(
                    trace_id,
                    span_id,
                    is_remote=False,
                    trace_flags=_SAMPLED,
                    trace_state=state,
                ),
                parent=parent,
                resource=self.resource,
                attributes={k: v for k, v in zip(ATTRIBUTES, values, strict=True) if v is not None},
                kind=SpanKind.CLIENT,
                status=_OK if error is None else Status(StatusCode.ERROR, str(error)),
                start_time=start_ns,
                end_time=end_ns,
                instrumentation_scope=self.scope,
            )
        )
        return f"{trace_id:032x}"

    def _attempts(
        self,
        ctx: RequestContext,
        trace_id: int,
        parent_id: int,
        state: TraceState,
        clock_ns: int,
        end_ns: int,
    ) -> None:
        assert ctx.attempts is not None
        parent = SpanContext(
            trace_id, parent_id, is_remote=False, trace_flags=_SAMPLED, trace_state=state
        )
        header = state.to_header() if state is not _NO_STATE and state else None
        for i, attempt in enumerate(ctx.attempts):
            deployment = attempt.deployment
            start = clock_ns + int(attempt.started * 1e9)
            # An attempt still running when the request ended (the client left) ends with it.
            end = end_ns if attempt.latency is None else start + int(attempt.latency * 1e9)
            outcome = attempt.outcome or "unfinished"
            error = None if outcome == "ok" else outcome
            provider = deployment.partition(":")[0]
            values = (
                deployment,
                PROVIDER_NAMES.get(provider, provider),
                i,
                attempt.status,
                outcome,
                attempt.next,
                error,
            )
            name = f"attempt {deployment}"
            span_id = random.getrandbits(64) or 1
            if self._json is not None:
                self._json.push(
                    trace_id,
                    span_id,
                    parent_id,
                    name,
                    _OTLP_CLIENT,
                    start,
                    end,
                    ATTEMPT_ATTRIBUTES,
                    values,
                    _UNSET if error is None else _ERROR,
                    error,
                    header,
                )
                continue
            self.processor.on_end(
                ReadableSpan(
                    name,
                    context=SpanContext(
                        trace_id, span_id, is_remote=False, trace_flags=_SAMPLED, trace_state=state
                    ),
                    parent=parent,
                    resource=self.resource,
                    attributes={
                        k: v
                        for k, v in zip(ATTEMPT_ATTRIBUTES, values, strict=True)
                        if v is not None
                    },
                    kind=SpanKind.CLIENT,
                    status=_OK if error is None else Status(StatusCode.ERROR, error),
                    start_time=start,
                    end_time=end,
                    instrumentation_scope=self.scope,
                )
            )
