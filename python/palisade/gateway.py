"""What one worker holds for its lifetime: the config, the router and its translations, the
upstream pool, each proxy's compiled guardrails, the body deadlines, the stage-3 admission and
where records go. Routes hand each stage the part it needs, never the whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from palisade.config import Config
from palisade.errors import BadRequest, NotFound
from palisade.exchange import Deadlines
from palisade.guardrails.policy import ProxyGuards
from palisade.pipeline.admission import Admission
from palisade.pipeline.record import Recording
from palisade.providers.catalog import Translations, connect
from palisade.providers.connection import Connection
from palisade.readiness import ReadyCheck
from palisade.shutdown import Shutdown
from palisade.upstream.groups import Routing
from palisade.upstream.probes import Probes
from palisade.upstream.routing import Router

if TYPE_CHECKING:
    from palisade.identity.runtime import Identity


@dataclass(slots=True)
class Gateway:
    config: Config
    router: Router
    session: aiohttp.ClientSession
    proxies: dict[str, ProxyGuards] = field(default_factory=dict)
    # Keys, clients, JWKS and the store; None: no store, so only open proxies (tests).
    identity: Identity | None = None
    # Stage 3 (limits, budgets, dedup); None only for gateways built without a lifespan.
    admission: Admission | None = None
    # Interaction log, metrics and traces (stage 9); None records nothing.
    recording: Recording | None = None
    deadlines: Deadlines = field(init=False)
    translations: Translations = field(default_factory=Translations)
    # How each provider is reached (its URLs and credentials), by name.
    connections: dict[str, Connection] = field(init=False)
    # Each model's deployments, their health, the retry budget (stage 5).
    routing: Routing = field(init=False)
    # The deployments' health probes and their last results (started by the lifespan).
    probes: Probes | None = None
    # What `/ready` runs (`readiness.store_checks`, and whatever a subsystem appends).
    ready_checks: list[ReadyCheck] = field(default_factory=list)
    # The worker's drain at SIGTERM (its lifespan's); `/ready` answers 503 once it began.
    shutdown: Shutdown | None = None

    def __post_init__(self) -> None:
        self.connections = {p.name: connect(p) for p in self.router.providers}
        self.routing = Routing(self.config, self.router)
        firewall = self.config.firewall
        self.deadlines = Deadlines(firewall.body_timeout_s, firewall.body_min_rate)
        # With a store, the proxies are the store's (seeded from the file), even if none.
        if not self.proxies and self.identity is None:
            tokens = self.config.admin.tokens
            self.proxies = {
                p.id: ProxyGuards.build(p, admin_tokens=tokens) for p in self.config.proxies
            }

    def proxy(self, proxy_id: str | None) -> ProxyGuards:
        """The proxy a URL names, or the default one for URLs that name none."""
        if proxy_id is None:
            if self.config.default_proxy is None:
                raise BadRequest(
                    "Palisade: this URL names no LLM proxy and no default proxy is configured; "
                    "call /v1/openai/{proxy-id}/... or /{proxy-id}/....",
                    code="proxy_required",
                )
            proxy_id = self.config.default_proxy
        guards = self.proxies.get(proxy_id)
        if guards is None:
            if self.identity is not None and proxy_id in self.identity.undeployed:
                gateway = self.config.server.gateway
                raise NotFound(
                    f"Palisade: the LLM proxy `{proxy_id}` is not deployed on the gateway "
                    f"`{gateway}` (this replica's `server.gateway`); deploy it there or call a "
                    "gateway that runs it.",
                    code="proxy_not_deployed",
                )
            raise NotFound(
                f"Palisade: no LLM proxy has the id `{proxy_id[:64]}`.", code="proxy_not_found"
            )
        return guards
