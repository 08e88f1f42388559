"""Config of stage 3: limits, budgets, dedup, pricing overrides and the Redis keys."""

from __future__ import annotations

import pytest

from palisade.config import (
    BudgetConfig,
    Config,
    ConfigError,
    DedupConfig,
    RateLimitConfig,
    parse_config,
)
from palisade.pricing import Price, PriceTable

PROXIES = {"proxies": [{"name": "default"}, {"name": "Support Bot"}]}


def parse(raw: dict[str, object]) -> Config:
    return parse_config({**PROXIES, **raw}, source="t.yaml", env={"RPM": "30"})


def test_full_stage_three_config() -> None:
    config = parse(
        {
            "store": {
                "redis_url": "redis://127.0.0.1:6379/0",
                "redis_timeout_s": 0.05,
                "on_redis_failure": "fail_closed",
            },
            "limits": [
                {"name": "per-user", "scope": ["user", "proxy"], "rpm": "${RPM}", "tpm": 9000},
                {"name": "bot", "scope": "agent", "rpm": 5, "proxies": ["support-bot"]},
                {"name": "all", "scope": [], "tpm": 1_000_000},
            ],
            "budgets": [
                {"name": "monthly", "scope": "key", "usd": 25},
                {"name": "daily", "scope": "user", "usd": 1.5, "period": "day"},
                {"name": "week", "scope": "proxy", "usd": 100, "period": "7d"},
            ],
            "dedup": {"ttl_s": 60, "lock_ttl_s": 5, "max_answer_bytes": 1000},
            "pricing": {
                "my-model": {"input": 1, "output": 2.5, "cached_input": 0.1},
                "cached": {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75},
            },
            "tpm_default_max_tokens": 0,
        }
    )
    assert config.store.redis_timeout_s == 0.05
    assert config.store.on_redis_failure == "fail_closed"
    assert config.limits == (
        # The scope is kept in one canonical order: the same scope, the same store key.
        RateLimitConfig(name="per-user", scope=("proxy", "user"), rpm=30, tpm=9000),
        RateLimitConfig(name="bot", scope=("agent",), rpm=5, proxies=("support-bot",)),
        RateLimitConfig(name="all", scope=(), tpm=1_000_000),
    )
    assert config.budgets == (
        BudgetConfig(name="monthly", scope="key", usd=25.0),
        BudgetConfig(name="daily", scope="user", usd=1.5, period="day"),
        BudgetConfig(name="week", scope="proxy", usd=100.0, period="7d", rolling_s=7 * 86400),
    )
    assert config.dedup == DedupConfig(ttl_s=60, lock_ttl_s=5, max_answer_bytes=1000)
    assert config.tpm_default_max_tokens == 0
    table = PriceTable().with_overrides(config.pricing)
    # `cached_input`, the old name of `cache_read`, still reads.
    assert table.lookup("my-model") == Price(1.0, 2.5, cache_read=0.1)
    assert table.lookup("cached") == Price(3.0, 15.0, cache_read=0.3, cache_write=3.75)
    assert table.lookup("gpt-4o") is not None


def test_defaults() -> None:
    config = parse({})
    assert (config.limits, config.budgets, dict(config.pricing)) == ((), (), {})
    assert config.store.on_redis_failure == "fail_open"
    assert config.store.redis_timeout_s == 0.1
    assert config.tpm_default_max_tokens == 256


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"limits": [{"name": "x", "scope": ["user"]}]}, "limits[0]: a limit needs `rpm` or `tpm`"),
        ({"limits": [{"name": "x", "rpm": 1}]}, "limits[0].scope: is required"),
        ({"limits": [{"name": "x", "scope": ["team"], "rpm": 1}]}, "limits[0].scope[0]"),
        ({"limits": [{"name": "x", "scope": ["user", "user"], "rpm": 1}]}, "named twice"),
        ({"limits": [{"name": "x", "scope": [], "rpm": 0}]}, "limits[0].rpm"),
        (
            {"limits": [{"name": "x", "scope": [], "rpm": 1, "proxies": ["nope"]}]},
            "limits[0].proxies[0]: no proxy has the id 'nope'",
        ),
        (
            {
                "limits": [
                    {"name": "x", "scope": [], "rpm": 1},
                    {"name": "x", "scope": [], "rpm": 1},
                ]
            },
            "limits[1].name",
        ),
        ({"limits": [{"scope": [], "rpm": 1}]}, "limits[0].name: is required"),
        ({"budgets": [{"name": "b", "scope": "agent", "usd": 1}]}, "budgets[0].scope"),
        ({"budgets": [{"name": "b", "scope": "key"}]}, "budgets[0].usd: is required"),
        ({"budgets": [{"name": "b", "scope": "key", "usd": 1, "period": "week"}]}, "period"),
        ({"budgets": [{"name": "b", "scope": "key", "usd": -1}]}, "budgets[0].usd"),
        ({"dedup": {"ttl": 3}}, "dedup.ttl: unknown key"),
        ({"pricing": {"m": {"input": 1}}}, "pricing.m.output: is required"),
        ({"pricing": {"m": {"input": -1, "output": 1}}}, "pricing.m.input"),
        ({"pricing": {"m": {"input": 1, "output": 1, "cache_write": -1}}}, "pricing.m.cache_write"),
        (
            {"pricing": {"m": {"input": 1, "output": 1, "cache_read": 1, "cached_input": 1}}},
            "pricing.m: give `cache_read` or its old name `cached_input`, not both",
        ),
        ({"store": {"on_redis_failure": "retry"}}, "store.on_redis_failure: must be one of"),
        ({"store": {"redis_timeout_s": 0}}, "store.redis_timeout_s"),
        ({"store": {"redis_url": "http://x:6379"}}, "store.redis_url: must start with redis://"),
        ({"tpm_default_max_tokens": -5}, "tpm_default_max_tokens"),
    ],
)
def test_errors_name_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert message in str(info.value)
    assert str(info.value).startswith("t.yaml: ")
