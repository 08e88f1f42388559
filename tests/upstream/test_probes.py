"""Health probes against a real local HTTP server: what each answer does to the breaker, which
deployments are probed by default, and the one-token call of kinds that list no models."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from palisade.config import Config, parse_config
from palisade.providers.catalog import connect
from palisade.providers.connection import Connection
from palisade.upstream.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from palisade.upstream.deployment import Deployment
from palisade.upstream.groups import Routing
from palisade.upstream.health import deployments, readiness
from palisade.upstream.probes import Probes, private_address, probed
from palisade.upstream.routing import Router
from tests.helpers.servers import free_port


@dataclass
class Upstream:
    """A provider whose answers the test sets: `status` for every call, `delay_s` before it."""

    port: int = 0
    status: int = 200
    delay_s: float = 0.0
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    state = Upstream()

    async def answer(request: web.Request) -> web.Response:
        body = await request.read()
        state.seen.append((request.method, request.path, dict(request.headers), body))
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        if state.status != 200:
            return web.json_response({"error": {"message": "down"}}, status=state.status)
        if request.method == "GET":
            return web.json_response({"object": "list", "data": [{"id": "m", "object": "model"}]})
        return web.json_response({"id": "x", "object": "chat.completion", "choices": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield state
    finally:
        await runner.cleanup()


def config(providers: dict[str, Any], deployments: list[dict[str, Any]], **routing: Any) -> Config:
    raw = {
        "auto_providers": False,
        "providers": providers,
        "models": {"probed": {"deployments": deployments}},
        "routing": {
            "breaker": {"consecutive_failures": 2, "cooldown_s": 30},
            "probes": {"interval_s": 0.05, "timeout_s": 0.5},
            **routing,
        },
    }
    return parse_config(raw, source="test", env={})


@dataclass
class Rig:
    routing: Routing
    probes: Probes
    connections: dict[str, Connection]

    @property
    def deployment(self) -> Deployment:
        return next(iter(self.routing.deployments.values()))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def rig(cfg: Config, session: aiohttp.ClientSession) -> Rig:
    routing = Routing(cfg, Router(cfg.providers))
    connections = {p.name: connect(p) for p in cfg.providers}
    return Rig(routing, Probes(routing, connections, session), connections)


@pytest.fixture
def one(upstream: Upstream, session: aiohttp.ClientSession) -> Rig:
    """The rig of one deployment of the local upstream."""
    return rig(config(local(upstream), [{"provider": "local", "model": "m"}]), session)


def cooled_open(breaker: Breaker) -> None:
    """Opened by two failures (the rig's threshold), its cooldown just over."""
    breaker.failure(time.time())
    breaker.failure(time.time())
    breaker.open_until = time.time() - 0.01


def local(upstream: Upstream, **extra: Any) -> dict[str, Any]:
    return {"local": {"base_url": f"{upstream.url}/v1", "api_key": "k-local", **extra}}


# -- which deployments are probed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "private"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://vllm.localhost/v1", True),
        ("http://10.1.2.3/v1", True),
        ("http://192.168.0.10:8080", True),
        ("http://172.16.5.5", True),
        ("http://[::1]:8000/v1", True),
        ("http://[fd00::1]/v1", True),
        ("https://api.openai.com/v1", False),
        ("https://8.8.8.8/v1", False),
        ("http://ollama:11434/v1", False),  # a name is not resolved
        ("not a url", False),
    ],
)
def test_private_address(url: str, private: bool) -> None:
    assert private_address(url) is private


def test_probe_default_is_on_only_for_private_addresses_that_list_models() -> None:
    assert probed(None, "http://127.0.0.1:8000/v1", listing=True)
    assert not probed(None, "https://api.openai.com/v1", listing=True)
    # A one-token call costs even on a local server: only when asked.
    assert not probed(None, "http://127.0.0.1:8000", listing=False)
    assert probed(True, "https://api.openai.com/v1", listing=False)
    assert not probed(False, "http://127.0.0.1:8000/v1", listing=True)


async def test_probes_mark_the_deployments_they_probe(session: aiohttp.ClientSession) -> None:
    cfg = config(
        {
            "near": {"base_url": "http://127.0.0.1:9/v1"},
            "far": {"base_url": "https://api.example.com/v1"},
            "forced": {"base_url": "https://api.example.org/v1"},
            "quiet": {"base_url": "http://127.0.0.1:9/v1"},
        },
        [
            {"provider": "near", "model": "a"},
            {"provider": "far", "model": "a"},
            {"provider": "forced", "model": "a", "probe": True},
            {"provider": "quiet", "model": "a", "probe": False},
        ],
    )
    r = rig(cfg, session)
    assert [d.id for d in r.probes.deployments] == ["near:a", "forced:a"]
    assert {d.id: d.probe for d in r.routing.deployments.values()} == {
        "near:a": True,
        "far:a": False,
        "forced:a": True,
        "quiet:a": False,
    }


# -- what a probe does to the breaker ---------------------------------------------------------


async def test_failing_probes_open_the_breaker(upstream: Upstream, one: Rig) -> None:
    d = one.deployment
    assert d.breaker is not None
    upstream.status = 503
    first = await one.probes.probe(d)
    assert first is not None
    assert first.outcome == "server_error"
    assert d.breaker.state == CLOSED
    await one.probes.probe(d)
    assert d.breaker.state == OPEN
    assert d.breaker.open_until > time.time() + 25
    # The listing, with the provider's credentials, like the catalog's listing.
    method, path, headers, _ = upstream.seen[-1]
    assert (method, path, headers["Authorization"]) == ("GET", "/v1/models", "Bearer k-local")
    # Cooling down: not probed at all.
    assert await one.probes.probe(d) is None
    assert len(upstream.seen) == 2


async def test_after_the_cooldown_a_probe_half_opens_and_its_success_closes(
    upstream: Upstream, one: Rig
) -> None:
    d = one.deployment
    breaker = d.breaker
    assert breaker is not None
    upstream.status = 500
    await one.probes.probe(d)
    await one.probes.probe(d)
    assert breaker.state == OPEN
    breaker.open_until = time.time() - 0.01  # the cooldown is over
    upstream.status = 200
    upstream.delay_s = 0.1
    states: list[int] = []
    probing = asyncio.create_task(one.probes.probe(d))
    await asyncio.sleep(0.05)
    # While the probe is out it is the half-open trial: no call may go through.
    states.append(breaker.state)
    assert not d.usable(time.time())
    result = await probing
    assert states == [HALF_OPEN]
    assert result is not None
    assert result.outcome == "ok"
    assert result.latency >= 0.1
    assert breaker.state == CLOSED
    assert d.usable(time.time())
    assert one.probes.results[d.id] is result


async def test_a_failed_half_open_probe_opens_the_breaker_again(
    upstream: Upstream, one: Rig
) -> None:
    d = one.deployment
    assert d.breaker is not None
    upstream.status = 502
    await one.probes.probe(d)
    await one.probes.probe(d)
    d.breaker.open_until = time.time() - 0.01
    result = await one.probes.probe(d)
    assert result is not None
    assert result.outcome == "server_error"
    assert d.breaker.state == OPEN
    assert d.breaker.open_until > time.time() + 25


async def test_a_probe_waits_while_a_real_call_is_the_trial(upstream: Upstream, one: Rig) -> None:
    d = one.deployment
    assert d.breaker is not None
    cooled_open(d.breaker)
    d.start(time.time())  # a client's call takes the trial
    assert d.breaker.state == HALF_OPEN
    assert await one.probes.probe(d) is None
    assert upstream.seen == []


async def test_a_client_error_gives_no_verdict_and_frees_the_trial(
    upstream: Upstream, one: Rig
) -> None:
    d = one.deployment
    breaker = d.breaker
    assert breaker is not None
    upstream.status = 401
    for _ in range(3):
        result = await one.probes.probe(d)
        assert result is not None
        assert result.outcome == "client_error"
    assert breaker.state == CLOSED
    cooled_open(breaker)
    await one.probes.probe(d)
    # Half-open, the trial free again for the next call.
    assert breaker.state == HALF_OPEN
    assert d.usable(time.time())


async def test_a_probe_cancelled_at_shutdown_frees_the_trial(upstream: Upstream, one: Rig) -> None:
    d = one.deployment
    assert d.breaker is not None
    cooled_open(d.breaker)
    upstream.delay_s = 0.3
    probing = asyncio.create_task(one.probes.probe(d))
    await asyncio.sleep(0.1)
    assert not d.usable(time.time())
    probing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probing
    assert d.breaker.state == HALF_OPEN
    assert d.usable(time.time())  # the next call may be the trial
    assert d.id not in one.probes.results


async def test_timeouts_and_refused_connections_are_failures(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    cfg = config(
        {**local(upstream), "dead": {"base_url": dead}},
        [{"provider": "local", "model": "m"}, {"provider": "dead", "model": "m"}],
        probes={"interval_s": 1, "timeout_s": 0.2},
    )
    r = rig(cfg, session)
    slow, down = r.routing.deployments["local:m"], r.routing.deployments["dead:m"]
    upstream.delay_s = 1.0
    started = time.perf_counter()
    timed_out = await r.probes.probe(slow)
    assert timed_out is not None
    assert timed_out.outcome == "timeout"
    assert time.perf_counter() - started < 0.6
    refused = await r.probes.probe(down)
    assert refused is not None
    assert refused.outcome == "connect_error"
    assert slow.breaker is not None
    assert down.breaker is not None
    assert slow.breaker.consecutive == down.breaker.consecutive == 1


async def test_a_deployment_told_to_wait_by_a_429_is_not_probed(
    upstream: Upstream, one: Rig
) -> None:
    d = one.deployment
    d.blocked_until = time.time() + 10
    assert await one.probes.probe(d) is None
    assert upstream.seen == []


# -- the one-token call of kinds without a listing ----------------------------------------------


async def test_a_kind_without_listing_gets_a_one_token_call_when_asked(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    providers = {
        "az": {
            "kind": "azure",
            "base_url": upstream.url,
            "api_key": "k-azure",
            "api_version": "2024-10-21",
        }
    }
    # Unset: not probed (it would cost a call).
    off = rig(config(providers, [{"provider": "az", "model": "dep"}]), session)
    assert off.probes.deployments == []
    r = rig(config(providers, [{"provider": "az", "model": "dep", "probe": True}]), session)
    result = await r.probes.probe(r.deployment)
    assert result is not None
    assert result.outcome == "ok"
    method, path, headers, body = upstream.seen[-1]
    assert (method, path) == ("POST", "/openai/deployments/dep/chat/completions")
    assert headers["api-key"] == "k-azure"
    sent = orjson.loads(body)
    assert sent["max_tokens"] == 1
    assert sent["messages"] == [{"role": "user", "content": "ping"}]


async def test_the_one_token_call_is_translated_to_the_deployments_dialect(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    providers = {
        "br": {
            "kind": "bedrock",
            "base_url": upstream.url,
            "region": "us-east-1",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "secret",
        }
    }
    cfg = config(providers, [{"provider": "br", "model": "anthropic.claude-x", "probe": True}])
    r = rig(cfg, session)
    await r.connections["br"].start()  # its credentials, as the lifespan does
    result = await r.probes.probe(r.deployment)
    assert result is not None
    assert result.outcome == "ok"
    method, path, headers, body = upstream.seen[-1]
    assert (method, path) == ("POST", "/model/anthropic.claude-x/converse")
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    sent = orjson.loads(body)
    assert sent["inferenceConfig"]["maxTokens"] == 1
    assert sent["messages"][0]["content"] == [{"text": "ping"}]


# -- the loop, and the views ----------------------------------------------------------------------


async def test_started_probes_run_on_their_interval_until_stopped(
    upstream: Upstream, one: Rig
) -> None:
    one.probes.start()
    try:
        deadline = time.monotonic() + 5
        while len(upstream.seen) < 3:
            assert time.monotonic() < deadline, "no probes"
            await asyncio.sleep(0.02)
    finally:
        await one.probes.stop()
    count = len(upstream.seen)
    await asyncio.sleep(0.2)
    assert len(upstream.seen) == count
    assert one.probes.results["local:m"].outcome == "ok"


async def test_views_report_breakers_and_probes_and_readiness_needs_one_usable_deployment(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    cfg = config(
        {**local(upstream), "other": {"base_url": f"{upstream.url}/v1"}},
        [{"provider": "local", "model": "m", "rpm": 100}, {"provider": "other", "model": "m"}],
    )
    r = rig(cfg, session)
    one, two = r.routing.deployments["local:m"], r.routing.deployments["other:m"]
    await r.probes.probe(one)
    one.start(time.time())
    view = deployments(r.routing, r.probes)
    first = view["data"][0]
    assert first["id"] == "local:m"
    assert first["groups"] == ["probed"]
    assert (first["rpm"], first["minute_calls"], first["inflight"]) == (100, 1, 1)
    assert first["breaker"] == "closed"
    assert first["last_probe"]["outcome"] == "ok"
    assert first["last_probe"]["at"].endswith("Z")
    assert view["data"][1]["minute_calls"] is None  # no capacity: not counted
    assert isinstance(view["worker_pid"], int)
    report, ok = readiness(r.routing, r.probes)
    assert ok
    assert report["local:m"]["last_probe"]["outcome"] == "ok"
    for d in (one, two):
        assert d.breaker is not None
        d.breaker.failure(time.time())
        d.breaker.failure(time.time())
        if d is one:
            report, ok = readiness(r.routing, r.probes)
            assert ok  # the other one still takes calls
            assert report["local:m"]["breaker"] == "open"
    report, ok = readiness(r.routing, r.probes)
    assert not ok
    assert deployments(r.routing, r.probes)["data"][1]["open_until"] is not None
