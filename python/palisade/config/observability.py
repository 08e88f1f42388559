"""`logging`, `metrics` and `tracing`: what the gateway records about each request."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator
from pydantic.dataclasses import dataclass

from palisade.config.fields import (
    SECTION,
    Flag,
    Fraction,
    Number,
    OptionalHttpUrl,
    OptionalText,
    PositiveInt,
    Text,
    empty_is_none,
    key,
    problem,
)
from palisade.telemetry.logs import LogFormat, LogLevel


def _optional_port(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 65535:
        raise problem(f"must be a port (1-65535), not {value}", "must be a port (1-65535)")
    return value


OptionalPort = Annotated[int | None, BeforeValidator(empty_is_none), AfterValidator(_optional_port)]


def _retention(value: float) -> float:
    if value < 0:
        raise problem(f"must be 0 (keep) or more, not {value}", "must be 0 (keep) or more")
    return value


@dataclass(frozen=True, config=SECTION)
class LoggingConfig:
    """The interaction log: one record per request, written to `store.sqlite_path` off the
    request path."""

    enabled: Flag = key(
        True,
        "write an interaction record per request (see [Observability](#observability))",
    )
    bodies: Flag = key(
        True,
        "keep the request (as the provider saw it) and response (as the client got it) bodies "
        "in the record",
    )
    max_body_bytes: PositiveInt = key(
        64 * 1024,
        "each stored body is cut there (`request_bytes` / `response_bytes` keep the full sizes)",
    )
    retention_days: Annotated[Number, AfterValidator(_retention)] = key(
        30.0, "records older than this are deleted (checked every 10 minutes); `0` keeps them"
    )
    queue_size: PositiveInt = key(
        10_000,
        "records waiting for the writer, per worker; beyond, a record is dropped and counted",
    )
    # The gateway's own log lines (and Granian's), not the interaction log.
    level: LogLevel = key(
        "info", "the gateway's own log lines: `debug`, `info`, `warning` or `error`"
    )
    format: LogFormat = key(
        "text",
        "`text` (time, level, logger, request id, message) or `json` (one object per line: "
        "`ts`, `level`, `logger`, `msg`, `request_id`, `exc`); Granian's lines too",
    )
    access: Flag = key(False, "one line per request from Granian (in `format`, with its id)")


@dataclass(frozen=True, config=SECTION)
class MetricsConfig:
    enabled: Flag = key(True, "Prometheus metrics at `/metrics` (off: 404 and no per-request work)")
    # Later values are reported as `other`: label values come from clients.
    max_agent_labels: PositiveInt = key(
        100,
        "distinct `external_agent_id` label values per worker; later ones are counted as `other`",
    )
    max_model_labels: PositiveInt = key(100, "the same for `model` (model names come from clients)")
    # Compared in constant time.
    token: OptionalText = key(
        None, "bearer token `/metrics` requires (`Authorization: Bearer …`); else 401"
    )
    port: OptionalPort = key(
        None,
        "serve `/metrics` on this port instead (all workers' values, from the main process, "
        "on `server.host`), and not on the public port",
    )


OtlpProtocol = Literal["http/json", "http/protobuf"]


@dataclasses.dataclass(frozen=True)
class TracingConfig:
    otlp_endpoint: str | None = None
    otlp_protocol: OtlpProtocol = "http/json"
    otlp_headers: tuple[tuple[str, str], ...] = ()
    service_name: str = "palisade"
    sample_ratio: float = 1.0


class TracingSection(BaseModel):
    model_config = SECTION

    # None: no spans at all, so no cost.
    otlp_endpoint: OptionalHttpUrl = key(
        None,
        "OTLP/HTTP traces URL, e.g. `http://collector:4318/v1/traces`; unset → no spans, no cost",
        shown="none (off)",
    )
    otlp_protocol: OtlpProtocol = key(
        "http/json",
        "`http/json` (the gateway's encoder, a few µs per span) or `http/protobuf` (the SDK's, "
        "~70 µs per span)",
    )
    # A mapping in the file, pairs at run time: header order is kept and nothing mutates it.
    otlp_headers: dict[str, Text] = key(
        {}, "headers sent with each export (e.g. `authorization: Bearer ${OTEL_TOKEN}`)"
    )
    service_name: Text = key("palisade", "the `service.name` resource attribute")
    sample_ratio: Fraction = key(
        1.0,
        "share of traces started here that are kept; a client's `traceparent` decides for its own",
    )

    def build(self) -> TracingConfig:
        return TracingConfig(
            otlp_endpoint=self.otlp_endpoint,
            otlp_protocol=self.otlp_protocol,
            otlp_headers=tuple(self.otlp_headers.items()),
            service_name=self.service_name,
            sample_ratio=self.sample_ratio,
        )
