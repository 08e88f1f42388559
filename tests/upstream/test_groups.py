"""A model's deployments and the choice of one per attempt."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from palisade.config import ConfigError, parse_config
from palisade.errors import ModelNotFound
from palisade.upstream.groups import Group, Routing
from palisade.upstream.routing import Router


def _routing(models: dict[str, Any], **routing: Any) -> Routing:
    config = parse_config(
        {
            "auto_providers": False,
            "providers": {
                name: {"base_url": f"http://127.0.0.1:9/{name}/v1", "models": [f"{name}-*"]}
                for name in ("a", "b", "c")
            },
            "models": models,
            "routing": routing,
        },
        source="test",
        env={},
    )
    return Routing(config, Router(config.providers))


def _ids(group: Group, n: int, stream: bool = False) -> Counter[str]:
    now = time.time()
    return Counter(d.id for d in (group.pick(now, stream, ()) for _ in range(n)) if d)


def test_weights_share_the_calls() -> None:
    routing = _routing(
        {"m": {"deployments": [{"provider": "a", "weight": 3}, {"provider": "b", "weight": 1}]}}
    )
    seen = _ids(routing.group("m"), 4000)
    assert 2700 < seen["a:m"] < 3300
    assert seen["a:m"] + seen["b:m"] == 4000


def test_a_deployment_names_its_own_model_and_the_body_is_rewritten() -> None:
    routing = _routing({"smart": {"deployments": [{"provider": "a", "model": "gpt-4o"}]}})
    deployment = routing.group("smart").deployments[0]
    assert deployment.id == "a:gpt-4o"
    assert deployment.target.model == "gpt-4o"
    assert deployment.target.rewritten


def test_retries_default_to_one_per_extra_deployment() -> None:
    routing = _routing(
        {
            "two": {"deployments": [{"provider": "a"}, {"provider": "b"}]},
            "set": {"deployments": [{"provider": "a"}], "retries": 3},
        }
    )
    assert routing.group("two").retries == 1
    assert routing.group("set").retries == 3
    assert _routing({}, retries=2).group("a-model").retries == 2
    assert routing.group("a-model").retries == 0  # reached directly, nothing configured


def test_higher_priority_first_then_lower_tiers() -> None:
    routing = _routing(
        {"m": {"deployments": [{"provider": "a", "priority": 1}, {"provider": "b"}]}}
    )
    group = routing.group("m")
    assert _ids(group, 50) == {"a:m": 50}
    a = routing.deployments["a:m"]
    assert a.breaker is not None
    for _ in range(5):
        a.breaker.failure(time.time())
    assert _ids(group, 50) == {"b:m": 50}


def test_a_retry_prefers_a_deployment_not_tried_and_reuses_one_when_all_were() -> None:
    routing = _routing({"m": {"deployments": [{"provider": "a"}, {"provider": "b"}]}})
    group = routing.group("m")
    a, b = routing.deployments["a:m"], routing.deployments["b:m"]
    now = time.time()
    assert all(group.pick(now, False, [a]) is b for _ in range(50))
    assert group.pick(now, False, [a, b]) in (a, b)


def test_least_busy_and_latency_strategies() -> None:
    routing = _routing(
        {
            "busy": {
                "strategy": "least_busy",
                "deployments": [{"provider": "a"}, {"provider": "b"}],
            },
            "fast": {"strategy": "latency", "deployments": [{"provider": "a"}, {"provider": "c"}]},
        }
    )
    a, b, c = (routing.deployments[i] for i in ("a:busy", "b:busy", "c:fast"))
    now = time.time()
    a.start(now)
    a.start(now)
    b.start(now)
    assert _ids(routing.group("busy"), 20) == {"b:busy": 20}
    fast_a = routing.deployments["a:fast"]
    fast_a.succeeded(now, 0.200, 0.150)
    c.succeeded(now, 0.010, 0.005)
    seen = _ids(routing.group("fast"), 2000)
    assert seen["c:fast"] > 1800  # the rest is exploration
    assert seen["a:fast"] > 20
    # Failures weigh: a fast deployment that fails most calls loses to a slower healthy one.
    fast_a.succeeded(now, 0.050, None)
    fast_a.latency_ema = 0.050
    for _ in range(30):
        c.failed(now, counts=True)
    c.breaker.force(0, 0.0)  # type: ignore[union-attr]
    assert _ids(routing.group("fast"), 500)["a:fast"] > 400


def test_capacity_and_a_429_wait_take_a_deployment_out() -> None:
    routing = _routing(
        {"m": {"deployments": [{"provider": "a", "rpm": 2}, {"provider": "b", "priority": -1}]}}
    )
    group = routing.group("m")
    a = routing.deployments["a:m"]
    now = time.time()
    for _ in range(2):
        assert group.pick(now, False, ()) is a
        a.start(now)
    assert group.pick(now, False, ()) is routing.deployments["b:m"]
    routing2 = _routing({"m": {"deployments": [{"provider": "a"}, {"provider": "b"}]}})
    a2 = routing2.deployments["a:m"]
    a2.blocked_until = now + 60
    assert _ids(routing2.group("m"), 30) == {"b:m": 30}


def test_plain_names_are_groups_of_one_without_a_breaker() -> None:
    routing = _routing({})
    group = routing.group("b-model")
    assert [d.id for d in group.deployments] == ["b:b-model"]
    assert group.deployments[0].breaker is None
    assert routing.group("b-model") is group  # memoised
    assert routing.group("c:x").deployments[0].target.provider.name == "c"
    with pytest.raises(ModelNotFound):
        routing.group("nobody-serves-this")


def test_config_names_unknown_providers() -> None:
    with pytest.raises(ConfigError) as info:
        _routing({"m": {"deployments": [{"provider": "a"}, {"provider": "zz"}]}})
    assert "models.m.deployments[1].provider: no provider `zz`" in str(info.value)
    with pytest.raises(ConfigError) as info:
        _routing({"m": {"deployments": [{"provider": "a", "weight": 0}]}})
    assert "models.m.deployments[0].weight" in str(info.value)


def test_a_fallback_nobody_serves_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        _routing({"m": {"deployments": [{"provider": "a"}], "fallbacks": ["b:x", "nope"]}})
    assert "models.m.fallbacks[1]: no provider serves `nope`" in str(info.value)
    assert "fallbacks[0]" not in str(info.value)
