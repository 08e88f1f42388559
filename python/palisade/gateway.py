"""What one worker holds for its lifetime: the config, the router, the upstream pool, each
proxy's compiled guardrails, the price table and where records go."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp

from palisade.config import Config
from palisade.errors import BadRequest, NotFound
from palisade.guardrails.policy import ProxyGuards
from palisade.pipeline.record import Recording
from palisade.pricing import PriceTable
from palisade.upstream.routing import Router


@dataclass(slots=True)
class Gateway:
    config: Config
    router: Router
    session: aiohttp.ClientSession
    proxies: dict[str, ProxyGuards] = field(default_factory=dict)
    prices: PriceTable = field(default_factory=PriceTable)
    # Interaction log, metrics and traces (stage 9); None records nothing.
    recording: Recording | None = None

    def __post_init__(self) -> None:
        if not self.proxies:
            self.proxies = {p.id: ProxyGuards.build(p) for p in self.config.proxies}

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
            raise NotFound(
                f"Palisade: no LLM proxy has the id `{proxy_id[:64]}`.", code="proxy_not_found"
            )
        return guards
