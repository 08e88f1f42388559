"""Stage 9, record: when a request ends, however it ends, one interaction record, its metrics
and its span.

`record` runs once per request, after the last byte of the answer went out (or the client left,
or an error was sent). It only notes the end time and appends the request to a batch; every
`BATCH_S` the event loop records the batch: the tokens and cost (`usage.account`), the metric
observations, a span when tracing is on, and a `Record` of references appended to the writer's
queue (bodies are cut and rows serialized in the writer's thread). One code path run over
dozens of requests in a row stays in the CPU's caches; run between two requests it does not,
and costs several times more (measured: the event loop's CPU per request fell by half). Nothing
here raises: a failure is logged and counted, the answer is gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
from starlette.responses import Response

from palisade.config import Config
from palisade.pipeline.context import Attempt, RequestContext
from palisade.pipeline.usage import account, served_model
from palisade.pricing import PriceTable
from palisade.store.interactions import InteractionWriter, NoEvents, Record
from palisade.telemetry.metrics import Metrics
from palisade.telemetry.tracing import Tracing

log = logging.getLogger("palisade.record")

BATCH_S = 0.01
# What a finished request leaves for the batch: its end (perf_counter, then wall clock in ns).
_Ended = tuple[RequestContext, Mapping[str, str], Response, float, int]


@dataclass(slots=True)
class Recording:
    """Where one worker's records, metrics and spans go; each part may be off."""

    prices: PriceTable
    writer: InteractionWriter | None = None
    metrics: Metrics | None = None
    tracing: Tracing | None = None
    pending: list[_Ended] = field(default_factory=list)

    @classmethod
    def from_config(
        cls, config: Config, prices: PriceTable, tracing: Tracing | None = None
    ) -> Recording:
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
        return cls(prices, writer, metrics, tracing or Tracing.from_config(config.tracing))

    @property
    def active(self) -> bool:
        return self.writer is not None or self.metrics is not None or self.tracing is not None

    def start(self) -> None:
        if self.writer is not None:
            self.writer.start()
        if self.metrics is not None:
            self.metrics.start()

    def defer(self, ended: _Ended) -> None:
        self.pending.append(ended)
        if len(self.pending) == 1:
            asyncio.get_running_loop().call_later(BATCH_S, self.drain)

    def drain(self) -> None:
        """Records the batch (on the event loop; at shutdown, before `stop`)."""
        for ctx, headers, response, ended, end_ns in self.pending:
            try:
                _record(self, ctx, headers, response, ended, end_ns)
            except Exception:
                log.exception("could not record request %s", ctx.request_id)
                if self.metrics is not None:
                    self.metrics.dropped(1, "record_error")
        # Emptied once recorded (nothing else runs on the loop meanwhile): a batch seen empty
        # from another thread has reached the writer's queue.
        self.pending = []

    def stop(self) -> None:
        """Blocking: writes what is queued, the pending metrics, and flushes spans."""
        if self.writer is not None:
            self.writer.stop()
        if self.metrics is not None:
            self.metrics.stop()
        if self.tracing is not None:
            self.tracing.shutdown()


def record(
    recording: Recording | None,
    ctx: RequestContext,
    headers: Mapping[str, str],
    response: Response,
) -> None:
    if recording is None or not recording.active:
        return
    recording.defer((ctx, headers, response, time.perf_counter(), time.time_ns()))


def translation_record(ctx: RequestContext) -> str | None:
    """What a translated request became, and the notes on what had no equivalent."""
    translation = ctx.translation
    dropped = ctx.dropped or []
    if translation is None:
        if not dropped:
            return None
        # Not translated, but fields the provider refuses were dropped (`providers.quirks`).
        endpoint = f"{ctx.surface.dialect.name}:{ctx.surface.endpoint}"
        return orjson.dumps({"client": endpoint, "provider": endpoint, "notes": dropped}).decode()
    client, upstream = ctx.surface, translation.upstream
    return orjson.dumps(
        {
            "client": f"{client.dialect.name}:{client.endpoint}",
            "provider": f"{upstream.dialect.name}:{upstream.endpoint}",
            "notes": [*translation.notes, *dropped],
        }
    ).decode()


def attempts_record(attempts: list[Attempt] | None) -> str | None:
    """Every attempt, when there was more than the one the row itself describes (its
    provider, served model, upstream status and latency): that saves the happy path a JSON
    document per request (about 1 us)."""
    if attempts is None or (len(attempts) == 1 and attempts[0].outcome == "ok"):
        return None
    return orjson.dumps([a.as_dict() for a in attempts]).decode()


def _summary(attempts: list[Attempt]) -> tuple[tuple[str, str, str | None], ...]:
    return tuple((a.deployment, a.outcome or "unfinished", a.next) for a in attempts)


def _record(
    recording: Recording,
    ctx: RequestContext,
    headers: Mapping[str, str],
    response: Response,
    ended: float,
    end_ns: int,
) -> None:
    duration = ended - ctx.started
    status = response.status_code
    attempts = ctx.attempts
    answer = getattr(response, "body", None) if ctx.sent_chunks is None else None
    usage = account(ctx, recording.prices, answer)
    served = served_model(ctx)
    provider = ctx.target.provider.name if ctx.target is not None else None
    ttft = ctx.first_chunk_at - ctx.started if ctx.first_chunk_at is not None else None
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
            clock_ns=end_ns - int(ended * 1e9),
        )
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
        provider,
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
        usage.cache_write_tokens,
        translation_record(ctx),
        attempts_record(attempts),
        ctx.downgraded_from,
        ctx.downgrade_reason,
    )
    metrics = recording.metrics
    if metrics is not None:
        summary = () if attempts is None else _summary(attempts)
        metrics.observe(values, ctx.decisions, summary)
        if recording.writer is None and ctx.execution_id is not None:
            metrics.execution_seen(ctx.execution_id, ctx.proxy_id, ctx.agent_id)
    if recording.writer is None:
        return
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
