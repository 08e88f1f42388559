"""Active health probes: a cheap call to each configured deployment whose probe is on, every
`routing.probes.interval_s`, that feeds its circuit breaker like a real call would.

The call is the kind's model listing where its API has one (a GET, free), else a one-token
generation in the deployment's dialect (an OpenAI chat request translated like a client's,
`max_tokens: 1`), sent only when the operator turned `probe: true` on: it costs. Credentials
come from the provider's `Connection`, as for real calls.

The verdicts are the attempts': a 2xx is a success, a 429, a 5xx, a timeout or no connection a
failure, another 4xx (a key the provider refuses, a listing it does not serve) neither. An open
breaker is not probed during its cooldown; after it, the probe takes the half-open trial
(`Breaker.admit`) unless a real call took it first, so one probe half-opens the breaker and its
success closes it. A deployment a 429 asked to wait is not probed until then.

Each worker probes on its own (the breakers are per worker unless shared through Redis): the
first probe of each deployment comes at a random point of the first interval and the next ones
every interval ±10%, so workers and deployments do not fire together.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from palisade.config.routing import ProbeConfig
from palisade.errors import GatewayError
from palisade.providers.base import Surface
from palisade.providers.catalog import DIALECTS, KINDS, Translations
from palisade.providers.connection import Connection
from palisade.providers.listing import ListingFailed
from palisade.providers.openai import CHAT
from palisade.telemetry.metrics import PROBE_DURATION, PROBES
from palisade.upstream.breaker import HALF_OPEN
from palisade.upstream.deployment import Deployment
from palisade.upstream.groups import Routing
from palisade.upstream.outcome import from_status

log = logging.getLogger("palisade.probes")

_JITTER = 0.1
_PROMPT = "ping"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    at: float  # Unix seconds, when it was sent
    outcome: str  # ok, rate_limited, server_error, timeout, connect_error, client_error
    latency: float  # seconds


def probed(setting: bool | None, base_url: str, *, listing: bool) -> bool:
    """Whether a deployment is probed: as `probe` says; unset, when its provider is on a
    private or loopback address (a local server, nothing to pay) and its API lists models (a
    one-token call costs even there: only on request)."""
    if setting is not None:
        return setting
    return listing and private_address(base_url)


def private_address(url: str) -> bool:
    """A loopback or private IP literal, or `localhost`. Other names are not resolved (a DNS
    lookup blocks, and its answer may change): they count as public."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback


class Probes:
    """This worker's probes: one task per probed deployment, and each one's last result."""

    def __init__(
        self,
        routing: Routing,
        connections: Mapping[str, Connection],
        session: aiohttp.ClientSession,
        *,
        metrics: bool = False,
    ) -> None:
        self.config: ProbeConfig = routing.config.probes
        self._connections = connections
        self._session = session
        self._metrics = metrics
        self._translations = Translations()
        self.results: dict[str, ProbeResult] = {}
        self.deployments: list[Deployment] = []
        for deployment in routing.deployments.values():
            provider = deployment.target.provider
            deployment.probe = deployment.breaker is not None and probed(
                deployment.config.probe,
                provider.base_url,
                listing=KINDS[provider.kind].listing is not None,
            )
            if deployment.probe:
                self.deployments.append(deployment)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for deployment in self.deployments:
            self._tasks.append(
                asyncio.create_task(self._loop(deployment), name=f"probe {deployment.id}")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _loop(self, deployment: Deployment) -> None:
        interval = self.config.interval_s
        await asyncio.sleep(random.uniform(0.0, interval))
        while True:
            try:
                await self.probe(deployment)
            except Exception:
                # A bug must not end this deployment's probes for the worker's lifetime.
                log.exception("health probe of %s failed", deployment.id)
            await asyncio.sleep(interval * random.uniform(1.0 - _JITTER, 1.0 + _JITTER))

    async def probe(self, deployment: Deployment) -> ProbeResult | None:
        """One probe, its verdict given to the breaker; None when the deployment is not to be
        called now (open and cooling down, a half-open trial already out, a 429 wait)."""
        breaker = deployment.breaker
        now = time.time()
        if breaker is None or not breaker.usable(now) or now < deployment.blocked_until:
            return None
        breaker.admit(now)
        trial = breaker.state == HALF_OPEN
        started = time.perf_counter()
        outcome = "client_error"
        try:
            outcome = await self._call(deployment)
        finally:
            latency = time.perf_counter() - started
            done = time.time()
            if outcome == "ok":
                # Only as the half-open trial: a listing that answers says nothing of the
                # generations real calls saw fail, whose count it must not reset.
                if trial:
                    breaker.success(done)
            elif outcome == "client_error":
                if trial:
                    breaker.release()  # no verdict: the next call is the trial
            else:
                breaker.failure(done)
        result = ProbeResult(now, outcome, latency)
        self.results[deployment.id] = result
        if self._metrics:
            PROBES.labels(deployment.id, outcome).inc()
            PROBE_DURATION.labels(deployment.id).observe(latency)
        return result

    async def _call(self, deployment: Deployment) -> str:
        """The probe's outcome; cancelled, it leaves a half-open trial released (above)."""
        try:
            async with asyncio.timeout(self.config.timeout_s):
                status = await self._send(deployment)
        except TimeoutError:
            return "timeout"
        except ListingFailed as exc:
            status = exc.upstream_status
        except (aiohttp.ClientError, OSError, GatewayError):
            return "connect_error"  # GatewayError: no credentials (a token not fetched)
        except orjson.JSONDecodeError:
            return "server_error"  # a listing that is not JSON
        if 200 <= status < 300:
            return "ok"
        return from_status(status) or "client_error"

    async def _send(self, deployment: Deployment) -> int:
        provider = deployment.target.provider
        connection = self._connections[provider.name]
        lister = KINDS[provider.kind].listing
        limit = aiohttp.ClientTimeout(total=self.config.timeout_s)
        if lister is not None:
            await lister(connection, DIALECTS[provider.dialects[0]], self._session, limit)
            return 200
        return await self._generate(deployment, connection, limit)

    async def _generate(
        self, deployment: Deployment, connection: Connection, limit: aiohttp.ClientTimeout
    ) -> int:
        """A one-token chat request, translated to the deployment's dialect when it speaks
        another."""
        target = deployment.target
        provider = target.provider
        model = target.model
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": _PROMPT}],
            "max_tokens": 1,
        }
        surface: Surface = CHAT
        dialects = target.dialects or provider.dialects
        if CHAT.dialect.name not in dialects:
            translation = self._translations.between(CHAT, dialects[0])
            body = translation.request(body)
            surface = translation.upstream
            surface.set_model(body, model)
        if provider.quirks is not None:
            provider.quirks.apply(body)
        data = orjson.dumps(body)
        if connection.rewrites_body:
            data = connection.rewrite_body(surface, data)
        url = connection.url(surface, model, False)
        headers = {"content-type": "application/json", **surface.dialect.upstream_headers()}
        pending = connection.authorize(headers, url, data, None)
        if pending is not None:
            await pending
        async with self._session.post(url, data=data, headers=headers, timeout=limit) as resp:
            await resp.read()
            return resp.status
