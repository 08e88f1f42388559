"""OpenTelemetry: one span per model call, with the GenAI semantic-convention attributes.

Off unless `tracing.otlp_endpoint` is set; then nothing of OpenTelemetry runs on the request
path at all. When on, the span is made when the request ends, with the request's own start and
end times, so the request path pays for one span, not for a context kept current across awaits.
A client's W3C `traceparent` (and `tracestate`) makes the span its child. Spans leave in
batches from the SDK's exporter thread (OTLP over HTTP, protobuf).
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from palisade.config import TracingConfig
from palisade.pipeline.context import RequestContext
from palisade.pricing import Usage

OPERATIONS = {
    "chat/completions": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "responses": "chat",
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
_PROPAGATOR = TraceContextTextMapPropagator()


class Tracing:
    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("palisade")

    @classmethod
    def from_config(cls, config: TracingConfig) -> Tracing | None:
        if config.otlp_endpoint is None:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider = TracerProvider(
            resource=Resource.create({"service.name": config.service_name}),
            sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)),
        )
        exporter = OTLPSpanExporter(
            endpoint=config.otlp_endpoint, headers=dict(config.otlp_headers), timeout=10
        )
        provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider)

    def shutdown(self) -> None:
        self.provider.shutdown()

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
    ) -> str | None:
        """Records the call's span; returns its trace id (hex) for the interaction record."""
        parent: Context | None = None
        if "traceparent" in headers:
            carrier = {"traceparent": headers["traceparent"]}
            if "tracestate" in headers:
                carrier["tracestate"] = headers["tracestate"]
            parent = _PROPAGATOR.extract(carrier)
        operation = OPERATIONS.get(ctx.endpoint, ctx.endpoint)
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": operation,
            "gen_ai.usage.input_tokens": usage.input_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "http.response.status_code": status,
            "palisade.proxy.id": ctx.proxy_id,
            "palisade.request.id": ctx.request_id,
            "palisade.auth.method": ctx.auth_method,
            "palisade.tokens_counted": ctx.tokens_counted,
        }
        optional: dict[str, AttributeValue | None] = {
            "gen_ai.provider.name": _provider_name(ctx),
            "gen_ai.request.model": ctx.model,
            "gen_ai.response.model": served_model,
            "gen_ai.conversation.id": ctx.session_id,
            "gen_ai.agent.id": ctx.agent_id,
            "user.id": ctx.user_id,
            "palisade.execution.id": ctx.execution_id,
            "palisade.key.id": ctx.key_id,
            "palisade.cost_usd": ctx.cost_usd,
            "palisade.limit.outcome": ctx.limit_outcome,
            "error.type": ctx.error_code or (str(status) if status >= 400 else None),
        }
        attributes.update((k, v) for k, v in optional.items() if v is not None)
        if usage.cached_tokens:
            attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_tokens
        if ctx.decisions:
            attributes["palisade.guardrail.actions"] = sorted(
                {f"{d.guardrail}:{d.action}" for d in ctx.decisions}
            )
        name = f"{operation} {ctx.model}" if ctx.model else operation
        span = self.tracer.start_span(
            name, context=parent, kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns
        )
        if "error.type" in attributes:
            span.set_status(Status(StatusCode.ERROR, str(attributes["error.type"])))
        span.end(end_time=end_ns)
        span_context = span.get_span_context()
        return f"{span_context.trace_id:032x}" if span_context.is_valid else None


def _provider_name(ctx: RequestContext) -> str | None:
    if ctx.target is None:
        return None
    name = ctx.target.provider.name
    return PROVIDER_NAMES.get(name, name)
