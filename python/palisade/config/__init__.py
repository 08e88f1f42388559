"""Typed configuration: one YAML file, validated on load (see `loader`); each section's types
live with the section (`server`, `store`, `identity`, `observability`, `providers`,
`guardrails`, `proxies`, `limits`), and `file` puts them together."""

from palisade.config.errors import ConfigError
from palisade.config.file import Config, ConfigFile
from palisade.config.guardrails import (
    Condition,
    ConditionOp,
    Direction,
    Guardrail,
    InjectionGuardrail,
    ScanAction,
    ScanGuardrail,
    ScanType,
    ToolAction,
    ToolPolicyGuardrail,
    ToolRule,
    TrustAction,
    TrustedDataGuardrail,
    guardrail_to_dict,
    parse_guardrail,
)
from palisade.config.identity import IdentityConfig
from palisade.config.limits import (
    LIMIT_SCOPES,
    BudgetConfig,
    BudgetScope,
    DedupConfig,
    LimitScope,
    RateLimitConfig,
    parse_period,
)
from palisade.config.loader import load_config, parse_config
from palisade.config.observability import LoggingConfig, MetricsConfig, TracingConfig
from palisade.config.providers import AUTO_PROVIDER_PRIORITY
from palisade.config.proxies import (
    AUTH_METHODS,
    DEFAULT_PROXY_ID,
    JWT_ALGORITHMS,
    RESERVED_PROXY_IDS,
    AuthMethod,
    DowngradeRule,
    JwtConfig,
    ProxyConfig,
    parse_proxy,
    proxy_id,
    proxy_to_dict,
)
from palisade.config.server import FirewallConfig, ServerConfig, UpstreamConfig
from palisade.config.store import AdminConfig, StoreConfig
from palisade.providers.provider import ProviderConfig

__all__ = [
    "AUTH_METHODS",
    "AUTO_PROVIDER_PRIORITY",
    "DEFAULT_PROXY_ID",
    "JWT_ALGORITHMS",
    "LIMIT_SCOPES",
    "RESERVED_PROXY_IDS",
    "AdminConfig",
    "AuthMethod",
    "BudgetConfig",
    "BudgetScope",
    "Condition",
    "ConditionOp",
    "Config",
    "ConfigError",
    "ConfigFile",
    "DedupConfig",
    "Direction",
    "DowngradeRule",
    "FirewallConfig",
    "Guardrail",
    "IdentityConfig",
    "InjectionGuardrail",
    "JwtConfig",
    "LimitScope",
    "LoggingConfig",
    "MetricsConfig",
    "ProviderConfig",
    "ProxyConfig",
    "RateLimitConfig",
    "ScanAction",
    "ScanGuardrail",
    "ScanType",
    "ServerConfig",
    "StoreConfig",
    "ToolAction",
    "ToolPolicyGuardrail",
    "ToolRule",
    "TracingConfig",
    "TrustAction",
    "TrustedDataGuardrail",
    "UpstreamConfig",
    "guardrail_to_dict",
    "load_config",
    "parse_config",
    "parse_guardrail",
    "parse_period",
    "parse_proxy",
    "proxy_id",
    "proxy_to_dict",
]
