"""Typed configuration: one YAML file, validated on load.

String values may use `${VAR}` (must be set) and `${VAR:-default}` interpolation; `$$` is a
literal `$`. Interpolation runs on parsed scalars, so an environment value can never inject YAML
structure. Every error names the file, the key path and what is wrong.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import yaml

from palisade.pricing import Price

T = TypeVar("T")

_ENV_RE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration problem; the message is meant for the operator as is."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    # Open connections per worker, idle keep-alive ones included (Granian's backpressure: past
    # it, new connections wait in the listen backlog).
    max_connections: int = 1024
    # At SIGTERM: how long in-flight requests may still run before open streams get an error
    # event and the rest a 503. Under Kubernetes' default 30 s termination grace, so the records
    # are written before a SIGKILL could come.
    shutdown_grace_s: float = 20.0


@dataclass(frozen=True)
class FirewallConfig:
    max_body_bytes: int = 4 * 1024 * 1024
    # Nesting of objects and arrays; real requests stay under 10, hostile ones go to thousands.
    max_json_depth: int = 64
    # `messages` (chat) or `input` items (Responses API).
    max_messages: int = 2048
    # A request body must arrive within `body_timeout_s`, extended by one second per
    # `body_min_rate` bytes received (mod_reqtimeout's rule); past it: 408, connection closed.
    body_timeout_s: float = 15.0
    body_min_rate: int = 32 * 1024


@dataclass(frozen=True)
class UpstreamConfig:
    connect_timeout_s: float = 10.0
    # Idle time allowed between two reads, not a total: long generations must not be cut.
    read_timeout_s: float = 300.0
    max_connections: int = 1000
    keepalive_s: float = 60.0


@dataclass(frozen=True)
class StoreConfig:
    # The embedded store (keys, proxies and their versions, interactions, spend).
    sqlite_path: str = "palisade.db"
    # Shared state across workers and replicas (limits, budgets, dedup); None: in-process,
    # which allows one worker only.
    redis_url: str | None = None
    # One Redis command (connect or reply) may take this long before the policy below applies.
    redis_timeout_s: float = 0.1
    # What limits, budgets and dedup do while Redis is unreachable: serve without them
    # (`fail_open`) or refuse with 503 (`fail_closed`).
    on_redis_failure: Literal["fail_open", "fail_closed"] = "fail_open"


@dataclass(frozen=True)
class AdminConfig:
    # Bearer tokens for /admin/v1/; None disables that role. Compared in constant time.
    token: str | None = None
    viewer_token: str | None = None

    @property
    def tokens(self) -> tuple[str, ...]:
        """The tokens that are set, for the `secrets` guardrails to find in texts."""
        return tuple(t for t in (self.token, self.viewer_token) if t)


@dataclass(frozen=True)
class IdentityConfig:
    # Failed authentications allowed per client address and credential prefix in a window;
    # more get 429 until the window has passed.
    failed_auth_limit: int = 10
    failed_auth_window_s: float = 60.0
    # Lifetime of the access tokens POST /oauth/token issues.
    oauth_token_ttl_s: float = 900.0
    # How often each worker looks for changes (keys, clients, proxies) made by another process.
    sync_interval_s: float = 1.0
    # JWKS: keys are refetched after this long, and on an unknown `kid` at most once per
    # jwks_refresh_min_s (a stream of made-up kids must not become a stream of fetches).
    jwks_cache_s: float = 3600.0
    jwks_refresh_min_s: float = 10.0


@dataclass(frozen=True)
class LoggingConfig:
    """The interaction log: one record per request, written to `store.sqlite_path` off the
    request path."""

    enabled: bool = True
    # Request and response bodies in the record (after redaction), each cut at max_body_bytes.
    bodies: bool = True
    max_body_bytes: int = 64 * 1024
    # Records older than this are deleted; 0 keeps them forever.
    retention_days: float = 30.0
    # Records waiting for the writer, per worker; beyond it a record is dropped and counted.
    queue_size: int = 10_000


@dataclass(frozen=True)
class MetricsConfig:
    enabled: bool = True
    # Distinct values per label and worker; later ones are reported as `other`.
    max_agent_labels: int = 100
    max_model_labels: int = 100


@dataclass(frozen=True)
class TracingConfig:
    # OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`); None: no spans at all.
    otlp_endpoint: str | None = None
    # http/json: the gateway's own encoder, a few us per span; http/protobuf: the SDK's, ~70 us.
    otlp_protocol: Literal["http/json", "http/protobuf"] = "http/json"
    otlp_headers: tuple[tuple[str, str], ...] = ()
    service_name: str = "palisade"
    # Share of traces started here that are kept; a client's sampled `traceparent` wins.
    sample_ratio: float = 1.0


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    base_url: str
    api_key: str | None = None
    kind: str = "openai"
    # Model names or shell-style patterns (`gpt-*`) this provider serves without a prefix.
    models: tuple[str, ...] = ()
    # Higher wins when several providers claim a plain model name.
    priority: int = 0
    # Ask the provider for stream usage (stream_options.include_usage) even when the client
    # did not, and strip it before the client sees it. Off for providers that reject the field.
    stream_usage: bool = True
    auth_header: str = "authorization"
    # Overrides upstream.read_timeout_s for this provider (None: use the global one).
    read_timeout_s: float | None = None
    # Pass the provider's account headers (`openai-organization`, `openai-project`,
    # `anthropic-organization-id`) on to clients; off: they name the operator's account.
    expose_account_headers: bool = False


Direction = Literal["request", "response", "both"]
ScanAction = Literal["block", "redact", "mask", "flag"]
ScanType = Literal["pii", "secrets", "rules"]
ConditionOp = Literal["equals", "contains", "starts_with", "ends_with", "regex"]
ToolAction = Literal["allow", "block", "block_when_context_untrusted"]
TrustAction = Literal["trust", "untrust", "block"]


@dataclass(frozen=True)
class ScanGuardrail:
    """`pii`, `secrets` or `rules`: detections in text, and what to do with them."""

    name: str
    type: ScanType
    direction: Direction
    action: ScanAction
    # pii/secrets: built-in kinds; empty means every kind of the category.
    entities: tuple[str, ...] = ()
    # rules: user regexes and keyword lists, by rule name.
    patterns: tuple[tuple[str, str], ...] = ()
    keywords: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def applies_to(self, direction: Literal["request", "response"]) -> bool:
        return self.direction in (direction, "both")


@dataclass(frozen=True)
class InjectionGuardrail:
    name: str
    flag_threshold: float
    block_threshold: float | None = None
    # Which texts are scored: user messages and/or tool results (indirect injection).
    targets: frozenset[Literal["user", "tool"]] = frozenset({"user", "tool"})
    # A tool result that scores at or above flag_threshold makes the context untrusted, even
    # when a trusted_data rule trusts that tool.
    untrusted_tool_results: bool = True


@dataclass(frozen=True)
class Condition:
    op: ConditionOp
    value: str
    # Tool policies: a dot path into the call's JSON arguments (`options.path`); None means
    # the whole arguments text. Trusted data: always None (the tool result's text).
    argument: str | None = None


@dataclass(frozen=True)
class ToolRule:
    name: str
    # A tool name or a shell-style pattern (`fs_*`).
    tool: str
    # All must hold; none means the rule matches on the tool name alone.
    when: tuple[Condition, ...]
    action: str  # ToolAction for tool_policies, TrustAction for trusted_data


@dataclass(frozen=True)
class ToolPolicyGuardrail:
    """Rules on the tool calls in the provider's answer; the first matching rule decides."""

    name: str
    rules: tuple[ToolRule, ...]
    default_action: ToolAction = "allow"


@dataclass(frozen=True)
class TrustedDataGuardrail:
    """Rules on the tool results in the request; the first matching rule decides."""

    name: str
    rules: tuple[ToolRule, ...]
    default_action: TrustAction = "untrust"


Guardrail = ScanGuardrail | InjectionGuardrail | ToolPolicyGuardrail | TrustedDataGuardrail


AuthMethod = Literal["virtual_key", "provider_key", "jwt", "oauth"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("virtual_key", "provider_key", "jwt", "oauth")


@dataclass(frozen=True)
class JwtConfig:
    """Bearer JWTs from an external identity provider, verified against its JWKS."""

    issuer: str
    audience: str
    jwks_url: str
    algorithms: tuple[str, ...] = ("RS256",)


@dataclass(frozen=True)
class ProxyConfig:
    id: str
    name: str
    description: str = ""
    guardrails: tuple[Guardrail, ...] = ()
    # Accepted credentials; empty: the proxy is open (no credential is checked).
    auth: tuple[AuthMethod, ...] = ()
    jwt: JwtConfig | None = None
    # What the proxy may reach: provider names and model names/patterns; empty: anything.
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    # The store's version in which this proxy last changed (0: not from the store).
    version: int = 0


DEFAULT_PROXY_ID = "default"

LimitScope = Literal["key", "proxy", "agent", "user"]
LIMIT_SCOPES: tuple[LimitScope, ...] = ("key", "proxy", "agent", "user")
BudgetScope = Literal["key", "proxy", "user"]


@dataclass(frozen=True)
class RateLimitConfig:
    """Requests and/or tokens per minute for each distinct value of `scope` (all its ids must be
    known for the limit to apply; an empty scope is one gateway-wide limit)."""

    name: str
    scope: tuple[LimitScope, ...]
    rpm: int | None = None
    tpm: int | None = None
    # Only requests through these proxies; empty: every proxy.
    proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetConfig:
    name: str
    scope: BudgetScope
    usd: float
    # `day` / `month` (calendar, UTC) or a rolling window in seconds.
    period: str = "month"
    rolling_s: int | None = None
    proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class DedupConfig:
    # How long a stored answer is replayed for the same idempotency key.
    ttl_s: float = 3600.0
    # How long a duplicate waits on an executor that stopped renewing its lock (it died).
    lock_ttl_s: float = 30.0
    # Answers larger than this are not stored (duplicates then run again).
    max_answer_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    firewall: FirewallConfig = field(default_factory=FirewallConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    tracing: TracingConfig = field(default_factory=TracingConfig)
    providers: tuple[ProviderConfig, ...] = ()
    guardrails: Mapping[str, Guardrail] = field(default_factory=dict)
    proxies: tuple[ProxyConfig, ...] = (ProxyConfig(id=DEFAULT_PROXY_ID, name="default"),)
    # Serves requests whose URL names no proxy; None: such requests get a 400.
    default_proxy: str | None = DEFAULT_PROXY_ID
    limits: tuple[RateLimitConfig, ...] = ()
    budgets: tuple[BudgetConfig, ...] = ()
    dedup: DedupConfig = field(default_factory=DedupConfig)
    # Model -> price overrides on top of palisade.pricing.DEFAULT_PRICES.
    pricing: Mapping[str, Price] = field(default_factory=dict)
    # TPM reservation for a request that names no max_tokens / max_completion_tokens.
    tpm_default_max_tokens: int = 256
    source: str = "<defaults>"


# OpenAI-compatible providers added on their own when their key is in the environment and the
# file does not configure a provider of that name. name -> (key variable, base URL, models).
KNOWN_PROVIDERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "openai": (
        "OPENAI_API_KEY",
        "https://api.openai.com/v1",
        ("gpt-*", "chatgpt-*", "o1*", "o3*", "o4*", "text-embedding-*", "omni-*", "codex-*"),
    ),
    "groq": ("GROQ_API_KEY", "https://api.groq.com/openai/v1", ()),
    "mistral": (
        "MISTRAL_API_KEY",
        "https://api.mistral.ai/v1",
        ("mistral-*", "codestral-*", "ministral-*", "magistral-*", "pixtral-*"),
    ),
    "deepseek": ("DEEPSEEK_API_KEY", "https://api.deepseek.com/v1", ("deepseek-*",)),
    "together": ("TOGETHER_API_KEY", "https://api.together.xyz/v1", ()),
    "fireworks": ("FIREWORKS_API_KEY", "https://api.fireworks.ai/inference/v1", ()),
    "openrouter": ("OPENROUTER_API_KEY", "https://openrouter.ai/api/v1", ()),
    "gemini": (
        "GEMINI_API_KEY",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        ("gemini-*",),
    ),
}
AUTO_PROVIDER_PRIORITY = 100


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the config file: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{source}: not valid YAML{where}") from None
    return parse_config({} if raw is None else raw, source=source, env=env)


def parse_config(raw: object, *, source: str, env: Mapping[str, str]) -> Config:
    r = _Reader(source, env)
    top = r.mapping(
        raw,
        "",
        {
            "server",
            "firewall",
            "upstream",
            "store",
            "admin",
            "identity",
            "logging",
            "metrics",
            "tracing",
            "providers",
            "auto_providers",
            "guardrails",
            "proxies",
            "default_proxy",
            "limits",
            "budgets",
            "dedup",
            "pricing",
            "tpm_default_max_tokens",
        },
    )

    server = r.mapping(
        top.get("server", {}),
        "server",
        {"host", "port", "workers", "max_connections", "shutdown_grace_s"},
    )
    firewall = r.mapping(
        top.get("firewall", {}),
        "firewall",
        {"max_body_bytes", "max_json_depth", "max_messages", "body_timeout_s", "body_min_rate"},
    )
    upstream = r.mapping(
        top.get("upstream", {}),
        "upstream",
        {"connect_timeout_s", "read_timeout_s", "max_connections", "keepalive_s"},
    )
    store = r.mapping(
        top.get("store", {}),
        "store",
        {"sqlite_path", "redis_url", "redis_timeout_s", "on_redis_failure"},
    )
    admin = r.mapping(top.get("admin", {}), "admin", {"token", "viewer_token"})
    identity = _identity(r, top.get("identity", {}))
    d_server, d_fw, d_up, d_store = (
        ServerConfig(),
        FirewallConfig(),
        UpstreamConfig(),
        StoreConfig(),
    )
    providers = _providers(r, top.get("providers", {}))
    if r.get(top, "", "auto_providers", r.boolean, True):
        providers += _auto_providers(env, {p.name for p in providers})
    guardrails = _guardrails(r, top.get("guardrails", {}))
    proxies, default_proxy = _proxies(r, top, guardrails)
    return Config(
        server=ServerConfig(
            host=r.get(server, "server", "host", r.string, d_server.host),
            port=r.get(server, "server", "port", r.port, d_server.port),
            workers=r.get(server, "server", "workers", r.positive_int, d_server.workers),
            max_connections=r.get(
                server, "server", "max_connections", r.positive_int, d_server.max_connections
            ),
            shutdown_grace_s=r.get(
                server,
                "server",
                "shutdown_grace_s",
                r.non_negative_float,
                d_server.shutdown_grace_s,
            ),
        ),
        firewall=FirewallConfig(
            max_body_bytes=r.get(
                firewall, "firewall", "max_body_bytes", r.positive_int, d_fw.max_body_bytes
            ),
            max_json_depth=r.get(
                firewall, "firewall", "max_json_depth", r.positive_int, d_fw.max_json_depth
            ),
            max_messages=r.get(
                firewall, "firewall", "max_messages", r.positive_int, d_fw.max_messages
            ),
            body_timeout_s=r.get(
                firewall, "firewall", "body_timeout_s", r.positive_float, d_fw.body_timeout_s
            ),
            body_min_rate=r.get(
                firewall, "firewall", "body_min_rate", r.positive_int, d_fw.body_min_rate
            ),
        ),
        upstream=UpstreamConfig(
            connect_timeout_s=r.get(
                upstream, "upstream", "connect_timeout_s", r.positive_float, d_up.connect_timeout_s
            ),
            read_timeout_s=r.get(
                upstream, "upstream", "read_timeout_s", r.positive_float, d_up.read_timeout_s
            ),
            max_connections=r.get(
                upstream, "upstream", "max_connections", r.positive_int, d_up.max_connections
            ),
            keepalive_s=r.get(
                upstream, "upstream", "keepalive_s", r.positive_float, d_up.keepalive_s
            ),
        ),
        store=StoreConfig(
            sqlite_path=r.get(store, "store", "sqlite_path", r.string, d_store.sqlite_path),
            redis_url=_redis_url(r, store),
            redis_timeout_s=r.get(
                store, "store", "redis_timeout_s", r.positive_float, d_store.redis_timeout_s
            ),
            on_redis_failure=cast(
                Literal["fail_open", "fail_closed"],
                r.choice(
                    store.get("on_redis_failure") or d_store.on_redis_failure,
                    "store.on_redis_failure",
                    ("fail_open", "fail_closed"),
                ),
            ),
        ),
        admin=AdminConfig(
            token=r.get(admin, "admin", "token", r.string, "") or None,
            viewer_token=r.get(admin, "admin", "viewer_token", r.string, "") or None,
        ),
        identity=identity,
        logging=_logging(r, top.get("logging", {})),
        metrics=_metrics(r, top.get("metrics", {})),
        tracing=_tracing(r, top.get("tracing", {})),
        providers=tuple(providers),
        guardrails=guardrails,
        proxies=proxies,
        default_proxy=default_proxy,
        limits=_rate_limits(r, top.get("limits", []), proxies),
        budgets=_budgets(r, top.get("budgets", []), proxies),
        dedup=_dedup(r, top.get("dedup", {})),
        pricing=_pricing(r, top.get("pricing", {})),
        tpm_default_max_tokens=r.get(top, "", "tpm_default_max_tokens", r.non_negative_int, 256),
        source=source,
    )


def _identity(r: _Reader, raw: object) -> IdentityConfig:
    d = IdentityConfig()
    i = r.mapping(raw, "identity", set(IdentityConfig.__dataclass_fields__))
    return IdentityConfig(
        failed_auth_limit=r.get(
            i, "identity", "failed_auth_limit", r.positive_int, d.failed_auth_limit
        ),
        **{
            key: r.get(i, "identity", key, r.positive_float, getattr(d, key))
            for key in (
                "failed_auth_window_s",
                "oauth_token_ttl_s",
                "sync_interval_s",
                "jwks_cache_s",
                "jwks_refresh_min_s",
            )
        },
    )


def _logging(r: _Reader, raw: object) -> LoggingConfig:
    keys = {"enabled", "bodies", "max_body_bytes", "retention_days", "queue_size"}
    s, d = r.mapping(raw, "logging", keys), LoggingConfig()
    retention = float(r.get(s, "logging", "retention_days", r.number, d.retention_days))
    if retention < 0:
        raise r.error("logging.retention_days", f"must be 0 (keep) or more, not {retention}")
    return LoggingConfig(
        enabled=r.get(s, "logging", "enabled", r.boolean, d.enabled),
        bodies=r.get(s, "logging", "bodies", r.boolean, d.bodies),
        max_body_bytes=r.get(s, "logging", "max_body_bytes", r.positive_int, d.max_body_bytes),
        retention_days=retention,
        queue_size=r.get(s, "logging", "queue_size", r.positive_int, d.queue_size),
    )


def _metrics(r: _Reader, raw: object) -> MetricsConfig:
    s = r.mapping(raw, "metrics", {"enabled", "max_agent_labels", "max_model_labels"})
    d = MetricsConfig()
    return MetricsConfig(
        enabled=r.get(s, "metrics", "enabled", r.boolean, d.enabled),
        max_agent_labels=r.get(
            s, "metrics", "max_agent_labels", r.positive_int, d.max_agent_labels
        ),
        max_model_labels=r.get(
            s, "metrics", "max_model_labels", r.positive_int, d.max_model_labels
        ),
    )


def _tracing(r: _Reader, raw: object) -> TracingConfig:
    keys = {"otlp_endpoint", "otlp_protocol", "otlp_headers", "service_name", "sample_ratio"}
    s, d = r.mapping(raw, "tracing", keys), TracingConfig()
    endpoint = r.get(s, "tracing", "otlp_endpoint", r.string, "") or None
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise r.error("tracing.otlp_endpoint", "must start with http:// or https://")
    headers = r.mapping(s.get("otlp_headers", {}), "tracing.otlp_headers", None)
    protocol = r.choice(
        r.get(s, "tracing", "otlp_protocol", r.string, str(d.otlp_protocol)),
        "tracing.otlp_protocol",
        ("http/json", "http/protobuf"),
    )
    return TracingConfig(
        otlp_endpoint=endpoint,
        otlp_protocol=cast(Literal["http/json", "http/protobuf"], protocol),
        otlp_headers=tuple(
            (name, r.string(value, f"tracing.otlp_headers.{name}"))
            for name, value in headers.items()
        ),
        service_name=r.get(s, "tracing", "service_name", r.string, d.service_name),
        sample_ratio=r.get(s, "tracing", "sample_ratio", r.fraction, d.sample_ratio),
    )


_PROVIDER_KEYS = {
    "kind",
    "base_url",
    "api_key",
    "models",
    "priority",
    "stream_usage",
    "auth_header",
    "read_timeout_s",
    "expose_account_headers",
}
_PROVIDER_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PROVIDER_KINDS = {"openai"}


def _providers(r: _Reader, raw: object) -> list[ProviderConfig]:
    out = []
    for name, value in r.mapping(raw, "providers", None).items():
        path = f"providers.{name}"
        if not _PROVIDER_NAME_RE.match(name):
            raise r.error(path, "a provider name uses lowercase letters, digits, '-' and '_'")
        p = r.mapping(value, path, _PROVIDER_KEYS)
        if "base_url" not in p:
            raise r.error(f"{path}.base_url", "is required")
        kind = r.get(p, path, "kind", r.string, "openai")
        if kind not in _PROVIDER_KINDS:
            raise r.error(f"{path}.kind", f"must be one of {sorted(_PROVIDER_KINDS)}, not {kind!r}")
        base_url = r.get(p, path, "base_url", r.string, "").rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise r.error(f"{path}.base_url", "must start with http:// or https://")
        api_key = r.get(p, path, "api_key", r.string, "") or None
        out.append(
            ProviderConfig(
                name=name,
                kind=kind,
                base_url=base_url,
                api_key=api_key,
                models=tuple(r.get(p, path, "models", r.string_list, [])),
                priority=r.get(p, path, "priority", r.integer, 0),
                stream_usage=r.get(p, path, "stream_usage", r.boolean, True),
                auth_header=r.get(p, path, "auth_header", r.string, "authorization").lower(),
                read_timeout_s=r.get(p, path, "read_timeout_s", r.optional_positive_float, None),
                expose_account_headers=r.get(p, path, "expose_account_headers", r.boolean, False),
            )
        )
    return out


def _auto_providers(env: Mapping[str, str], configured: set[str]) -> list[ProviderConfig]:
    out = []
    for name, (key_var, base_url, models) in KNOWN_PROVIDERS.items():
        key = env.get(key_var, "")
        if name in configured or not key:
            continue
        out.append(
            ProviderConfig(
                name=name,
                base_url=base_url,
                api_key=key,
                models=models,
                priority=AUTO_PROVIDER_PRIORITY,
            )
        )
    return out


_NONE: list[Any] = []
_GUARDRAIL_TYPES = ("pii", "secrets", "rules", "injection", "tool_policies", "trusted_data")
_GUARDRAIL_KEYS: dict[str, set[str]] = {
    "pii": {"type", "entities", "direction", "action"},
    "secrets": {"type", "entities", "direction", "action"},
    "rules": {"type", "patterns", "keywords", "direction", "action"},
    "injection": {"type", "flag_threshold", "block_threshold", "targets", "untrusted_tool_results"},
    "tool_policies": {"type", "rules", "default_action"},
    "trusted_data": {"type", "rules", "default_action"},
}
_SCAN_CATEGORY = {"pii": "pii", "secrets": "secrets"}
_CONDITION_OPS: tuple[ConditionOp, ...] = (
    "equals",
    "contains",
    "starts_with",
    "ends_with",
    "regex",
)
_TOOL_ACTIONS = ("allow", "block", "block_when_context_untrusted")
_TRUST_ACTIONS = ("trust", "untrust", "block")


def _guardrails(r: _Reader, raw: object) -> dict[str, Guardrail]:
    out: dict[str, Guardrail] = {}
    for name, value in r.mapping(raw, "guardrails", None).items():
        path = f"guardrails.{name}"
        if not isinstance(value, dict) or "type" not in value:
            raise r.error(f"{path}.type", f"is required (one of {', '.join(_GUARDRAIL_TYPES)})")
        kind = r.choice(value["type"], f"{path}.type", _GUARDRAIL_TYPES)
        g = r.mapping(value, path, _GUARDRAIL_KEYS[kind])
        out[name] = _guardrail(r, name, path, kind, g)
    return out


def _guardrail(r: _Reader, name: str, path: str, kind: str, g: dict[str, Any]) -> Guardrail:
    if kind in ("pii", "secrets", "rules"):
        return _scan_guardrail(r, name, path, cast(ScanType, kind), g)
    if kind == "injection":
        from palisade._core import INJECTION_DEFAULT_THRESHOLD

        flag = r.get(g, path, "flag_threshold", r.fraction, INJECTION_DEFAULT_THRESHOLD)
        block = r.get(g, path, "block_threshold", r.fraction, None)
        if block is not None and block < flag:
            raise r.error(f"{path}.block_threshold", "must not be below flag_threshold")
        targets = r.get(g, path, "targets", r.string_list, ["user", "tool"])
        for i, target in enumerate(targets):
            r.choice(target, f"{path}.targets[{i}]", ("user", "tool"))
        return InjectionGuardrail(
            name=name,
            flag_threshold=flag,
            block_threshold=block,
            targets=cast(frozenset[Literal["user", "tool"]], frozenset(targets)),
            untrusted_tool_results=r.get(g, path, "untrusted_tool_results", r.boolean, True),
        )
    actions = _TOOL_ACTIONS if kind == "tool_policies" else _TRUST_ACTIONS
    rules = tuple(
        _tool_rule(r, f"{path}.rules[{i}]", item, actions, arguments=kind == "tool_policies")
        for i, item in enumerate(r.get(g, path, "rules", r.items, _NONE))
    )
    if kind == "tool_policies":
        default = r.get(g, path, "default_action", r.string, "allow")
        return ToolPolicyGuardrail(
            name=name,
            rules=rules,
            default_action=cast(ToolAction, r.choice(default, f"{path}.default_action", actions)),
        )
    default = r.get(g, path, "default_action", r.string, "untrust")
    return TrustedDataGuardrail(
        name=name,
        rules=rules,
        default_action=cast(TrustAction, r.choice(default, f"{path}.default_action", actions)),
    )


def _scan_guardrail(
    r: _Reader, name: str, path: str, kind: ScanType, g: dict[str, Any]
) -> ScanGuardrail:
    from palisade._core import Scanner

    direction = r.choice(
        r.get(g, path, "direction", r.string, "both"),
        f"{path}.direction",
        ("request", "response", "both"),
    )
    action = r.choice(
        r.get(g, path, "action", r.string, "redact"),
        f"{path}.action",
        ("block", "redact", "mask", "flag"),
    )
    entities: tuple[str, ...] = ()
    patterns: tuple[tuple[str, str], ...] = ()
    keywords: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if kind == "rules":
        raw_patterns = r.mapping(g.get("patterns", {}), f"{path}.patterns", None)
        patterns = tuple(
            (rule, r.string(rx, f"{path}.patterns.{rule}")) for rule, rx in raw_patterns.items()
        )
        raw_keywords = r.mapping(g.get("keywords", {}), f"{path}.keywords", None)
        keywords = tuple(
            (rule, tuple(r.string_list(words, f"{path}.keywords.{rule}")))
            for rule, words in raw_keywords.items()
        )
        if not patterns and not keywords:
            raise r.error(path, "a rules guardrail needs `patterns` or `keywords`")
        clash = {p for p, _ in patterns} & {k for k, _ in keywords}
        if clash:
            raise r.error(path, f"rule names used twice: {', '.join(sorted(clash))}")
        try:
            Scanner([], dict(patterns), {k: list(v) for k, v in keywords})
        except ValueError as exc:
            raise r.error(path, str(exc)) from None
    else:
        category = _SCAN_CATEGORY[kind]
        known = Scanner([category]).kinds
        entities = tuple(r.get(g, path, "entities", r.string_list, []))
        for i, entity in enumerate(entities):
            if entity not in known:
                raise r.error(
                    f"{path}.entities[{i}]",
                    f"unknown {kind} entity {entity!r} (known: {', '.join(known)})",
                )
        entities = entities or tuple(known)
    return ScanGuardrail(
        name=name,
        type=kind,
        direction=cast(Direction, direction),
        action=cast(ScanAction, action),
        entities=entities,
        patterns=patterns,
        keywords=keywords,
    )


def _tool_rule(
    r: _Reader, path: str, raw: object, actions: tuple[str, ...], *, arguments: bool
) -> ToolRule:
    item = r.mapping(raw, path, {"name", "tool", "when", "action"})
    if "tool" not in item or "action" not in item:
        raise r.error(path, "a rule needs `tool` and `action`")
    conditions = []
    for i, c in enumerate(r.get(item, path, "when", r.items, _NONE)):
        cpath = f"{path}.when[{i}]"
        cond = r.mapping(
            c, cpath, {"argument", *_CONDITION_OPS} if arguments else set(_CONDITION_OPS)
        )
        ops = [op for op in _CONDITION_OPS if op in cond]
        if len(ops) != 1:
            raise r.error(cpath, f"needs exactly one of {', '.join(_CONDITION_OPS)}")
        op = ops[0]
        value = r.string(cond[op], f"{cpath}.{op}")
        if op == "regex":
            from palisade._core import Scanner

            try:
                Scanner([], {"condition": value})
            except ValueError as exc:
                raise r.error(f"{cpath}.regex", str(exc)) from None
        argument = r.get(cond, cpath, "argument", r.string, None) if arguments else None
        if argument is not None:
            from palisade.guardrails.conditions import parse_argument_path

            try:
                parse_argument_path(argument)
            except ValueError as exc:
                raise r.error(f"{cpath}.argument", str(exc)) from None
        conditions.append(Condition(op=op, value=value, argument=argument))
    tool = r.string(item["tool"], f"{path}.tool")
    return ToolRule(
        name=r.get(item, path, "name", r.string, path.rsplit(".", 1)[-1]),
        tool=tool,
        when=tuple(conditions),
        action=r.choice(item["action"], f"{path}.action", actions),
    )


_PROXY_KEYS = {
    "name",
    "id",
    "description",
    "guardrails",
    "auth",
    "jwt",
    "providers",
    "models",
}
_JWT_KEYS = {"issuer", "audience", "jwks_url", "algorithms"}
# Asymmetric only: a shared-secret (HS*) token from an identity provider would need its secret
# here, and accepting HS* next to a public key invites algorithm confusion.
JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
# First path segments the gateway itself owns; a proxy id may not shadow them.
RESERVED_PROXY_IDS = frozenset(
    {
        "v1",
        "admin",
        "health",
        "ready",
        "metrics",
        "oauth",
        # `/v1/openai/{id}/...` next to `/v1/openai/models/...` and friends
        "openai",
        "models",
        "chat",
        "completions",
        "embeddings",
        "responses",
    }
)
_PROXY_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def proxy_id(name: str) -> str:
    """`Support Bot (EU)` -> `support-bot-eu`; accents are folded (`Équipe` -> `equipe`)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", folded.lower()))


def _proxies(
    r: _Reader, top: dict[str, Any], guardrails: Mapping[str, Guardrail]
) -> tuple[tuple[ProxyConfig, ...], str | None]:
    if "proxies" not in top:
        default = r.get(top, "", "default_proxy", r.string, DEFAULT_PROXY_ID)
        if default != DEFAULT_PROXY_ID:
            raise r.error("default_proxy", f"names no proxy: {default!r}")
        return (ProxyConfig(id=DEFAULT_PROXY_ID, name="default"),), DEFAULT_PROXY_ID
    out: list[ProxyConfig] = []
    for i, raw in enumerate(r.items(top["proxies"], "proxies")):
        path = f"proxies[{i}]"
        proxy = _proxy(r, path, raw, guardrails)
        if any(other.id == proxy.id for other in out):
            raise r.error(f"{path}.id", f"{proxy.id!r} is used by another proxy")
        out.append(proxy)
    ids = {p.id for p in out}
    default_proxy: str | None = r.get(
        top, "", "default_proxy", r.string, DEFAULT_PROXY_ID if DEFAULT_PROXY_ID in ids else None
    )
    if default_proxy is not None and default_proxy not in ids:
        raise r.error("default_proxy", f"names no proxy: {default_proxy!r}")
    return tuple(out), default_proxy


def parse_proxy(
    raw: object, guardrails: Mapping[str, Guardrail], *, source: str, version: int = 0
) -> ProxyConfig:
    """One proxy definition outside the file (the admin API, the store); no interpolation, so
    a stored `${VAR}` stays text."""
    proxy = _proxy(_Reader(source, {}, interpolate=False), "", raw, guardrails)
    return replace(proxy, version=version)


def proxy_to_dict(proxy: ProxyConfig) -> dict[str, Any]:
    """The inverse of parse_proxy: guardrails by name, as the admin API and the store hold it."""
    out: dict[str, Any] = {
        "id": proxy.id,
        "name": proxy.name,
        "description": proxy.description,
        "guardrails": [g.name for g in proxy.guardrails],
        "auth": list(proxy.auth),
        "providers": list(proxy.providers),
        "models": list(proxy.models),
    }
    if proxy.jwt is not None:
        out["jwt"] = {
            "issuer": proxy.jwt.issuer,
            "audience": proxy.jwt.audience,
            "jwks_url": proxy.jwt.jwks_url,
            "algorithms": list(proxy.jwt.algorithms),
        }
    return out


def _proxy(r: _Reader, path: str, raw: object, guardrails: Mapping[str, Guardrail]) -> ProxyConfig:
    p = r.mapping(raw, path, _PROXY_KEYS)
    if "name" not in p:
        raise r.error(_join(path, "name"), "is required")
    name = r.string(p["name"], _join(path, "name"))
    pid = r.get(p, path, "id", r.string, proxy_id(name))
    if not _PROXY_ID_RE.match(pid):
        raise r.error(
            _join(path, "id"), f"{pid!r} is not a valid id (lowercase letters, digits and '-')"
        )
    if pid in RESERVED_PROXY_IDS:
        raise r.error(_join(path, "id"), f"{pid!r} is reserved for the gateway's own routes")
    attached = []
    for j, g in enumerate(r.get(p, path, "guardrails", r.string_list, list[str]())):
        if g not in guardrails:
            raise r.error(f"{_join(path, 'guardrails')}[{j}]", f"no guardrail is named {g!r}")
        attached.append(guardrails[g])
    auth: list[AuthMethod] = []
    for j, method in enumerate(r.get(p, path, "auth", r.string_list, list[str]())):
        choice = cast(AuthMethod, r.choice(method, f"{_join(path, 'auth')}[{j}]", AUTH_METHODS))
        if choice not in auth:
            auth.append(choice)
    jwt = _jwt(r, _join(path, "jwt"), p["jwt"]) if p.get("jwt") is not None else None
    if "jwt" in auth and jwt is None:
        raise r.error(_join(path, "jwt"), "is required when `auth` lists jwt")
    return ProxyConfig(
        id=pid,
        name=name,
        description=r.get(p, path, "description", r.string, ""),
        guardrails=tuple(attached),
        auth=tuple(auth),
        jwt=jwt,
        providers=tuple(r.get(p, path, "providers", r.string_list, list[str]())),
        models=tuple(r.get(p, path, "models", r.string_list, list[str]())),
    )


def _jwt(r: _Reader, path: str, raw: object) -> JwtConfig:
    j = r.mapping(raw, path, _JWT_KEYS)
    for key in ("issuer", "audience", "jwks_url"):
        if not j.get(key):
            raise r.error(_join(path, key), "is required")
    url = r.string(j["jwks_url"], _join(path, "jwks_url"))
    if not url.startswith(("http://", "https://")):
        raise r.error(_join(path, "jwks_url"), "must start with http:// or https://")
    algorithms = r.get(j, path, "algorithms", r.string_list, ["RS256"])
    for i, alg in enumerate(algorithms):
        r.choice(alg, f"{path}.algorithms[{i}]", JWT_ALGORITHMS)
    return JwtConfig(
        issuer=r.string(j["issuer"], _join(path, "issuer")),
        audience=r.string(j["audience"], _join(path, "audience")),
        jwks_url=url,
        algorithms=tuple(algorithms),
    )


def _redis_url(r: _Reader, store: dict[str, Any]) -> str | None:
    url = r.get(store, "store", "redis_url", r.string, "") or None
    if url is not None and not url.startswith(("redis://", "rediss://")):
        # Never echoed: the URL may carry a password.
        raise r.error("store.redis_url", "must start with redis:// or rediss://")
    return url


_LIMIT_KEYS = {"name", "scope", "rpm", "tpm", "proxies"}
_BUDGET_KEYS = {"name", "scope", "usd", "period", "proxies"}
_PERIOD_RE = re.compile(r"^([1-9][0-9]*)([hd])$")


def _rate_limits(
    r: _Reader, raw: object, proxies: tuple[ProxyConfig, ...]
) -> tuple[RateLimitConfig, ...]:
    out: list[RateLimitConfig] = []
    for i, item in enumerate(r.items(raw, "limits")):
        path = f"limits[{i}]"
        p = r.mapping(item, path, _LIMIT_KEYS)
        name = _item_name(r, p, path, {x.name for x in out})
        if "scope" not in p:
            raise r.error(f"{path}.scope", f"is required (a list of {', '.join(LIMIT_SCOPES)})")
        scope = _scope_list(r, p["scope"], f"{path}.scope")
        rpm = r.get(p, path, "rpm", r.positive_int, None)
        tpm = r.get(p, path, "tpm", r.positive_int, None)
        if rpm is None and tpm is None:
            raise r.error(path, "a limit needs `rpm` or `tpm`")
        out.append(
            RateLimitConfig(
                name=name,
                scope=scope,
                rpm=rpm,
                tpm=tpm,
                proxies=_proxy_filter(r, p, path, proxies),
            )
        )
    return tuple(out)


def _budgets(r: _Reader, raw: object, proxies: tuple[ProxyConfig, ...]) -> tuple[BudgetConfig, ...]:
    out: list[BudgetConfig] = []
    for i, item in enumerate(r.items(raw, "budgets")):
        path = f"budgets[{i}]"
        p = r.mapping(item, path, _BUDGET_KEYS)
        name = _item_name(r, p, path, {x.name for x in out})
        if "scope" not in p or "usd" not in p:
            raise r.error(path, "a budget needs `scope` (key, proxy or user) and `usd`")
        scope = r.choice(p["scope"], f"{path}.scope", ("key", "proxy", "user"))
        usd = r.positive_float(p["usd"], f"{path}.usd")
        period = r.get(p, path, "period", r.string, "month")
        out.append(
            BudgetConfig(
                name=name,
                scope=cast(BudgetScope, scope),
                usd=usd,
                period=period,
                rolling_s=parse_period(period, partial(r.error, f"{path}.period")),
                proxies=_proxy_filter(r, p, path, proxies),
            )
        )
    return tuple(out)


def parse_period(period: str, error: Callable[[str], Exception]) -> int | None:
    """`day` / `month` -> None (calendar, UTC); `24h`, `7d`, ... -> seconds (rolling)."""
    if period in ("day", "month"):
        return None
    m = _PERIOD_RE.match(period)
    if m is None:
        raise error(f"must be day, month or a rolling window like 24h or 30d, not {period!r}")
    return int(m.group(1)) * (3600 if m.group(2) == "h" else 86400)


def _item_name(r: _Reader, p: dict[str, Any], path: str, taken: set[str]) -> str:
    if "name" not in p:
        raise r.error(f"{path}.name", "is required")
    name = r.string(p["name"], f"{path}.name")
    if not name or name in taken:
        raise r.error(f"{path}.name", f"{name!r} is empty or used twice")
    return name


def _scope_list(r: _Reader, raw: object, path: str) -> tuple[LimitScope, ...]:
    items = [raw] if isinstance(raw, str) else r.string_list(raw, path)
    seen: list[LimitScope] = []
    for j, item in enumerate(items):
        value = cast(LimitScope, r.choice(item, f"{path}[{j}]", LIMIT_SCOPES))
        if value in seen:
            raise r.error(f"{path}[{j}]", f"{value!r} is named twice")
        seen.append(value)
    # A canonical order, so that the same scope always makes the same store key.
    return tuple(s for s in LIMIT_SCOPES if s in seen)


def _proxy_filter(
    r: _Reader, p: dict[str, Any], path: str, proxies: tuple[ProxyConfig, ...]
) -> tuple[str, ...]:
    ids = {x.id for x in proxies}
    chosen = r.get(p, path, "proxies", r.string_list, list[str]())
    for j, pid in enumerate(chosen):
        if pid not in ids:
            raise r.error(f"{path}.proxies[{j}]", f"no proxy has the id {pid!r}")
    return tuple(chosen)


def _dedup(r: _Reader, raw: object) -> DedupConfig:
    d = r.mapping(raw, "dedup", {"ttl_s", "lock_ttl_s", "max_answer_bytes"})
    default = DedupConfig()
    return DedupConfig(
        ttl_s=r.get(d, "dedup", "ttl_s", r.positive_float, default.ttl_s),
        lock_ttl_s=r.get(d, "dedup", "lock_ttl_s", r.positive_float, default.lock_ttl_s),
        max_answer_bytes=r.get(
            d, "dedup", "max_answer_bytes", r.positive_int, default.max_answer_bytes
        ),
    )


def _pricing(r: _Reader, raw: object) -> dict[str, Price]:
    out: dict[str, Price] = {}
    for model, value in r.mapping(raw, "pricing", None).items():
        path = f"pricing.{model}"
        p = r.mapping(value, path, {"input", "output", "cached_input"})
        if "input" not in p or "output" not in p:
            raise r.error(path, "a price needs `input` and `output` (USD per million tokens)")
        out[model] = Price(
            input=r.non_negative_float(p["input"], f"{path}.input"),
            output=r.non_negative_float(p["output"], f"{path}.output"),
            cached_input=r.get(p, path, "cached_input", r.non_negative_float, None),
        )
    return out


class _Reader:
    """Type-checked access to the parsed YAML, with errors that carry the key path."""

    def __init__(self, source: str, env: Mapping[str, str], *, interpolate: bool = True) -> None:
        self.source = source
        self.env = env
        self.interpolates = interpolate

    def error(self, path: str, what: str) -> ConfigError:
        return ConfigError(f"{self.source}: {path or '<top level>'}: {what}")

    def mapping(self, value: object, path: str, allowed: set[str] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, f"must be a mapping, not {_type_name(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.error(path, f"keys must be strings, not {_type_name(key)}")
            if allowed is not None and key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(_join(path, key), f"unknown key (known keys: {known})")
        return value

    def get(
        self,
        section: Mapping[str, Any],
        path: str,
        key: str,
        convert: Callable[[object, str], T],
        default: T,
    ) -> T:
        if key not in section or section[key] is None:
            return default
        return convert(section[key], _join(path, key))

    def interpolate(self, value: str, path: str) -> str:
        def replace(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name, default = m.group(1), m.group(2)
            if name in self.env and (self.env[name] or default is None):
                return self.env[name]
            if default is not None:
                return default
            raise self.error(path, f"environment variable {name} is not set")

        return _ENV_RE.sub(replace, value) if "$" in value and self.interpolates else value

    def string(self, value: object, path: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(path, f"must be a string, not {_type_name(value)}")
        return self.interpolate(str(value), path)

    def string_list(self, value: object, path: str) -> list[str]:
        if not isinstance(value, list):
            raise self.error(path, f"must be a list of strings, not {_type_name(value)}")
        return [self.string(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def _number(self, value: object, path: str, kind: type[int] | type[float]) -> float:
        if isinstance(value, str):
            value = self.interpolate(value, path)
            try:
                value = kind(value)
            except ValueError:
                # The text may come from the environment (a secret, even): never echo it.
                raise self.error(path, "must be a number, not a string") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(path, f"must be a number, not {_type_name(value)}")
        if kind is int and not float(value).is_integer():
            raise self.error(path, f"must be a whole number, not {value}")
        return value

    def number(self, value: object, path: str) -> float:
        return float(self._number(value, path, float))

    def integer(self, value: object, path: str) -> int:
        return int(self._number(value, path, int))

    def positive_int(self, value: object, path: str) -> int:
        n = self.integer(value, path)
        if n <= 0:
            raise self.error(path, f"must be greater than 0, not {n}")
        return n

    def non_negative_int(self, value: object, path: str) -> int:
        n = self.integer(value, path)
        if n < 0:
            raise self.error(path, f"must be 0 or more, not {n}")
        return n

    def non_negative_float(self, value: object, path: str) -> float:
        n = float(self._number(value, path, float))
        if n < 0:
            raise self.error(path, f"must be 0 or more, not {n}")
        return n

    def positive_float(self, value: object, path: str) -> float:
        n = float(self._number(value, path, float))
        if n <= 0:
            raise self.error(path, f"must be greater than 0, not {n}")
        return n

    def optional_positive_float(self, value: object, path: str) -> float | None:
        return self.positive_float(value, path)

    def port(self, value: object, path: str) -> int:
        n = self.integer(value, path)
        if not 0 <= n <= 65535:
            raise self.error(path, f"must be a port number (0-65535), not {n}")
        return n

    def items(self, value: object, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(path, f"must be a list, not {_type_name(value)}")
        return value

    def choice(self, value: object, path: str, options: tuple[str, ...]) -> str:
        text = self.string(value, path)
        if text not in options:
            raise self.error(path, f"must be one of {', '.join(options)}, not {text!r}")
        return text

    def fraction(self, value: object, path: str) -> float:
        n = float(self._number(value, path, float))
        if not 0 <= n <= 1:
            raise self.error(path, f"must be between 0 and 1, not {n}")
        return n

    def boolean(self, value: object, path: str) -> bool:
        if isinstance(value, str):
            text = self.interpolate(value, path).strip().lower()
            if text in {"true", "yes", "on", "1"}:
                return True
            if text in {"false", "no", "off", "0", ""}:
                return False
        if not isinstance(value, bool):
            raise self.error(path, f"must be true or false, not {_type_name(value)}")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
