"""Stage 9, record: when a request ends, however it ends, one interaction record, its metrics
and its span.

`record` runs once per request, after the last byte of the answer went out (or the client left,
or an error was sent). On the request path it only reads the context: the tokens and cost
(`usage.account`), a handful of metric increments, a span when tracing is on, and a `Record`
of references appended to the writer's queue; bodies are cut and rows serialized in the
writer's thread. It never raises: a failure here is logged and counted, the answer is gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.responses import Response

from palisade.config import Config
from palisade.pipeline.context import RequestContext
from palisade.pipeline.usage import account, served_model
from palisade.store.interactions import InteractionWriter, NoEvents, Record
from palisade.telemetry.metrics import Metrics
from palisade.telemetry.tracing import Tracing

if TYPE_CHECKING:
    from palisade.gateway import Gateway

log = logging.getLogger("palisade.record")


@dataclass(slots=True)
class Recording:
    """Where one worker's records, metrics and spans go; each part may be off."""

    writer: InteractionWriter | None = None
    metrics: Metrics | None = None
    tracing: Tracing | None = None

    @classmethod
    def from_config(cls, config: Config, tracing: Tracing | None = None) -> Recording:
        metrics = Metrics(config.metrics) if config.metrics.enabled else None
        writer = None
        if config.logging.enabled:
            writer = InteractionWriter(
                config.store.sqlite_path,
                queue_size=config.logging.queue_size,
                bodies=config.logging.bodies,
                max_body_bytes=config.logging.max_body_bytes,
                retention_days=config.logging.retention_days,
                events=metrics or NoEvents(),
            )
        return cls(writer, metrics, tracing or Tracing.from_config(config.tracing))

    @property
    def active(self) -> bool:
        return self.writer is not None or self.metrics is not None or self.tracing is not None

    def start(self) -> None:
        if self.writer is not None:
            self.writer.start()
        if self.metrics is not None:
            self.metrics.start()

    def stop(self) -> None:
        """Blocking: writes what is queued, the pending metrics, and flushes spans."""
        if self.writer is not None:
            self.writer.stop()
        if self.metrics is not None:
            self.metrics.stop()
        if self.tracing is not None:
            self.tracing.shutdown()


def record(
    gw: Gateway, ctx: RequestContext, headers: Mapping[str, str], response: Response
) -> None:
    recording = gw.recording
    if recording is None or not recording.active:
        return
    try:
        _record(gw, recording, ctx, headers, response)
    except Exception:
        log.exception("could not record request %s", ctx.request_id)
        if recording.metrics is not None:
            recording.metrics.dropped(1, "record_error")


def _record(
    gw: Gateway,
    recording: Recording,
    ctx: RequestContext,
    headers: Mapping[str, str],
    response: Response,
) -> None:
    duration = time.perf_counter() - ctx.started
    status = response.status_code
    answer = getattr(response, "body", None) if ctx.sent_chunks is None else None
    usage = account(ctx, gw.prices, answer)
    served = served_model(ctx)
    provider = ctx.target.provider.name if ctx.target is not None else ""
    ttft = ctx.first_chunk_at - ctx.started if ctx.first_chunk_at is not None else None
    end_ns = time.time_ns()
    trace_id = None
    if recording.tracing is not None:
        trace_id = recording.tracing.span(
            ctx,
            headers,
            start_ns=end_ns - int(duration * 1e9),
            end_ns=end_ns,
            status=status,
            usage=usage,
            served_model=served,
        )
    metrics = recording.metrics
    if metrics is not None:
        metrics.observe(
            proxy=ctx.proxy_id,
            provider=provider,
            model=served or ctx.model,
            agent_id=ctx.agent_id,
            status=status,
            duration_s=duration,
            ttft_s=ttft,
            usage=usage,
            cost_usd=ctx.cost_usd,
            upstream_status=ctx.status,
            error_code=ctx.error_code,
            limit_outcome=ctx.limit_outcome,
            decisions=ctx.decisions,
        )
        if recording.writer is None and ctx.execution_id is not None:
            metrics.execution_seen(ctx.execution_id, ctx.proxy_id, ctx.agent_id)
    if recording.writer is None:
        return
    values = (
        ctx.request_id,
        end_ns / 1e9 - duration,
        ctx.proxy_id,
        ctx.auth_method,
        ctx.key_id,
        ctx.agent_id,
        ctx.user_id,
        ctx.session_id,
        ctx.execution_id,
        provider or None,
        ctx.model,
        served,
        ctx.endpoint,
        ctx.stream,
        status,
        ctx.status,
        ctx.error_code,
        duration * 1e3,
        None if ttft is None else ttft * 1e3,
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_tokens,
        usage.reasoning_tokens,
        ctx.tokens_counted,
        ctx.cost_usd,
        ctx.limit_outcome,
        ctx.dedup,
        trace_id,
        len(ctx.raw_body),
    )
    recording.writer.submit(
        Record(
            values,
            tuple(ctx.decisions),
            # Only a request that passed the guardrails is stored: a blocked one may hold the
            # very secret that blocked it.
            ctx.forwarded_body,
            b"".join(ctx.sent_chunks) if ctx.sent_chunks is not None else answer,
        )
    )
