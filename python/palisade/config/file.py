"""The whole file: its top-level keys (`ConfigFile`, the schema editors and the README see) and
the `Config` the gateway runs with, built once the file is valid."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from palisade.config.errors import Problem
from palisade.config.fields import SECTION, Flag, NonNegativeInt, Text, key
from palisade.config.guardrails import Guardrail, GuardrailSection, build_guardrails
from palisade.config.identity import IdentityConfig
from palisade.config.limits import (
    BudgetConfig,
    BudgetSection,
    DedupConfig,
    LimitSection,
    PriceSection,
    RateLimitConfig,
    build_budgets,
    build_limits,
)
from palisade.config.observability import (
    LoggingConfig,
    MetricsConfig,
    TracingConfig,
    TracingSection,
)
from palisade.config.providers import ProviderName, ProviderSection, build_providers
from palisade.config.proxies import DEFAULT_PROXY_ID, ProxyConfig, ProxySection, build_proxies
from palisade.config.routing import ModelConfig, ModelSection, RoutingConfig, build_models
from palisade.config.server import FirewallConfig, ServerConfig, UpstreamConfig
from palisade.config.store import AdminConfig, StoreConfig
from palisade.pricing import Price
from palisade.providers.provider import ProviderConfig


@dataclasses.dataclass(frozen=True)
class Config:
    server: ServerConfig = dataclasses.field(default_factory=ServerConfig)
    firewall: FirewallConfig = dataclasses.field(default_factory=FirewallConfig)
    upstream: UpstreamConfig = dataclasses.field(default_factory=UpstreamConfig)
    store: StoreConfig = dataclasses.field(default_factory=StoreConfig)
    admin: AdminConfig = dataclasses.field(default_factory=AdminConfig)
    identity: IdentityConfig = dataclasses.field(default_factory=IdentityConfig)
    logging: LoggingConfig = dataclasses.field(default_factory=LoggingConfig)
    metrics: MetricsConfig = dataclasses.field(default_factory=MetricsConfig)
    tracing: TracingConfig = dataclasses.field(default_factory=TracingConfig)
    providers: tuple[ProviderConfig, ...] = ()
    routing: RoutingConfig = dataclasses.field(default_factory=RoutingConfig)
    models: tuple[ModelConfig, ...] = ()
    guardrails: Mapping[str, Guardrail] = dataclasses.field(default_factory=dict)
    proxies: tuple[ProxyConfig, ...] = (ProxyConfig(id=DEFAULT_PROXY_ID, name="default"),)
    # Serves requests whose URL names no proxy; None: such requests get a 400.
    default_proxy: str | None = DEFAULT_PROXY_ID
    limits: tuple[RateLimitConfig, ...] = ()
    budgets: tuple[BudgetConfig, ...] = ()
    dedup: DedupConfig = dataclasses.field(default_factory=DedupConfig)
    # Model name or price-database model id -> price; wins over the database.
    pricing: Mapping[str, Price] = dataclasses.field(default_factory=dict)
    # TPM reservation for a request that names no max_tokens / max_completion_tokens.
    tpm_default_max_tokens: int = 256
    source: str = "<defaults>"


def _section(factory: Any) -> Any:
    return Field(default_factory=factory)


class ConfigFile(BaseModel):
    """palisade.yaml. Field order is the README's row order and the order errors come in."""

    model_config = SECTION

    server: ServerConfig = _section(ServerConfig)
    firewall: FirewallConfig = _section(FirewallConfig)
    upstream: UpstreamConfig = _section(UpstreamConfig)
    auto_providers: Flag = key(True, "add known providers whose API key is in the environment")
    providers: dict[ProviderName, ProviderSection] = key(
        {},
        "a provider; `<name>` is lowercase letters, digits, `-`, `_` and is the `name:` model "
        "prefix",
        shown="",
        json_schema_extra={"x-key": "<name>"},
    )
    routing: RoutingConfig = _section(RoutingConfig)
    models: dict[Text, ModelSection] = key(
        {},
        "a model name clients send, served by several deployments (see [Routing](#routing))",
        shown="",
        json_schema_extra={"x-key": "<model>"},
    )
    store: StoreConfig = _section(StoreConfig)
    logging: LoggingConfig = _section(LoggingConfig)
    metrics: MetricsConfig = _section(MetricsConfig)
    tracing: TracingSection = _section(TracingSection)
    guardrails: dict[str, GuardrailSection] = key(
        {},
        "a named guardrail (see [Guardrails](#guardrails)); attached to proxies by name; the seed "
        "of the store's guardrails, which the admin API and the console then edit",
        shown="",
        json_schema_extra={"x-key": "<name>", "x-leaf": True},
    )
    proxies: list[ProxySection] | None = key(
        None, "list of LLM proxies", shown="one proxy `default`"
    )
    default_proxy: Text | None = key(
        None,
        "the proxy for URLs that name none; unset → such requests get 400 `proxy_required`",
        shown="`default` if such a proxy exists",
    )
    admin: AdminConfig = _section(AdminConfig)
    identity: IdentityConfig = _section(IdentityConfig)
    limits: list[LimitSection] = key(
        [],
        "rate limits, see [Limits, budgets and deduplication]"
        "(#limits-budgets-and-deduplication): `name` (required, unique), `scope` (a list of "
        "`key`, `proxy`, `agent`, `user`, or one of them; `[]`: one gateway-wide limit), `rpm`, "
        "`tpm` (at least one), `proxies` (only through these proxy ids; default all)",
        json_schema_extra={"x-leaf": True},
    )
    budgets: list[BudgetSection] = key(
        [],
        "spend limits: `name`, `scope` (`key`, `proxy` or `user`), `usd`, `period` (`day`, "
        "`month`: calendar, UTC; or rolling `<n>h` / `<n>d`; default `month`), `proxies`",
        json_schema_extra={"x-leaf": True},
    )
    tpm_default_max_tokens: NonNegativeInt = key(
        256,
        "output tokens a TPM limit reserves for a request that names no `max_tokens` / "
        "`max_completion_tokens` / `max_output_tokens`",
    )
    dedup: DedupConfig = _section(DedupConfig)
    pricing: dict[str, PriceSection] = key(
        {},
        "`input`, `output`, `cache_read` (old name: `cached_input`), `cache_write` in USD per "
        "million tokens; `<model>` is a model name or a model id of the price database, and the "
        "entry wins over the database's price (tiers included); a cache price left out costs "
        "`input`. See [Prices](#prices)",
        shown="the genai-prices database",
        json_schema_extra={"x-key": "<model>", "x-leaf": True},
    )


def build(
    file: ConfigFile, *, source: str, env: Mapping[str, str], problems: list[Problem]
) -> Config:
    """The checks that span sections (names that must exist, ids used twice) happen here."""
    guardrails = build_guardrails(file.guardrails)
    proxies, default_proxy = build_proxies(file.proxies, file.default_proxy, guardrails, problems)
    providers = build_providers(file.providers, env, auto=file.auto_providers, problems=problems)
    return Config(
        server=file.server,
        firewall=file.firewall,
        upstream=file.upstream,
        store=file.store,
        admin=file.admin,
        identity=file.identity,
        logging=file.logging,
        metrics=file.metrics,
        tracing=file.tracing.build(),
        providers=providers,
        routing=file.routing,
        models=build_models(file.models, providers, problems),
        guardrails=guardrails,
        proxies=proxies,
        default_proxy=default_proxy,
        limits=build_limits(file.limits, proxies, problems),
        budgets=build_budgets(file.budgets, proxies, problems),
        dedup=file.dedup,
        pricing={model: price.build() for model, price in file.pricing.items()},
        tpm_default_max_tokens=file.tpm_default_max_tokens,
        source=source,
    )
