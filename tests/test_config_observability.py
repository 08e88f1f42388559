"""The `logging`, `metrics` and `tracing` sections of palisade.yaml."""

from __future__ import annotations

import pytest

from palisade.config import (
    Config,
    ConfigError,
    LoggingConfig,
    MetricsConfig,
    TracingConfig,
    parse_config,
)


def parse(raw: object, env: dict[str, str] | None = None) -> Config:
    return parse_config(raw, source="t.yaml", env=env or {})


def test_defaults_record_everything_and_trace_nothing() -> None:
    config = parse({})
    assert config.logging == LoggingConfig(
        enabled=True, bodies=True, max_body_bytes=65536, retention_days=30.0, queue_size=10_000
    )
    assert config.metrics == MetricsConfig(enabled=True, max_agent_labels=100, max_model_labels=100)
    assert config.tracing == TracingConfig(otlp_endpoint=None)


def test_every_key_parses() -> None:
    config = parse(
        {
            "logging": {
                "enabled": False,
                "bodies": "off",
                "max_body_bytes": 1024,
                "retention_days": 0,
                "queue_size": 50,
            },
            "metrics": {"enabled": False, "max_agent_labels": 5, "max_model_labels": 7},
            "tracing": {
                "otlp_endpoint": "${COLLECTOR}/v1/traces",
                "otlp_headers": {"authorization": "Bearer ${TOKEN}"},
                "service_name": "gw-eu",
                "sample_ratio": 0.25,
            },
        },
        env={"COLLECTOR": "http://otel:4318", "TOKEN": "t0k"},
    )
    assert config.logging == LoggingConfig(
        enabled=False, bodies=False, max_body_bytes=1024, retention_days=0.0, queue_size=50
    )
    assert config.metrics == MetricsConfig(enabled=False, max_agent_labels=5, max_model_labels=7)
    assert config.tracing == TracingConfig(
        otlp_endpoint="http://otel:4318/v1/traces",
        otlp_headers=(("authorization", "Bearer t0k"),),
        service_name="gw-eu",
        sample_ratio=0.25,
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"logging": {"bodys": True}}, "t.yaml: logging.bodys: unknown key"),
        ({"logging": {"bodies": "maybe"}}, "logging.bodies: must be true or false"),
        ({"logging": {"max_body_bytes": 0}}, "logging.max_body_bytes: must be greater than 0"),
        ({"logging": {"retention_days": -1}}, "logging.retention_days: must be 0 (keep) or more"),
        ({"logging": {"queue_size": 1.5}}, "logging.queue_size: must be a whole number"),
        ({"metrics": {"max_agent_labels": 0}}, "metrics.max_agent_labels: must be greater than 0"),
        ({"metrics": []}, "t.yaml: metrics: must be a mapping"),
        ({"tracing": {"otlp_endpoint": "otel:4318"}}, "tracing.otlp_endpoint: must start with"),
        ({"tracing": {"sample_ratio": 2}}, "tracing.sample_ratio: must be between 0 and 1"),
        ({"tracing": {"otlp_headers": ["x"]}}, "tracing.otlp_headers: must be a mapping"),
    ],
)
def test_errors_name_the_key_path(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert message in str(info.value)


def test_a_secret_header_from_the_environment_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse({"tracing": {"sample_ratio": "${RATIO}"}}, env={"RATIO": "hunter2"})
    assert "hunter2" not in str(info.value)
