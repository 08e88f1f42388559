"""Typed configuration: one YAML file, validated on load.

String values may use `${VAR}` (must be set) and `${VAR:-default}` interpolation; `$$` is a
literal `$`. Interpolation runs on parsed scalars, so an environment value can never inject YAML
structure. Every error names the file, the key path and what is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

_ENV_RE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration problem; the message is meant for the operator as is."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1


@dataclass(frozen=True)
class FirewallConfig:
    max_body_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class UpstreamConfig:
    connect_timeout_s: float = 10.0
    # Idle time allowed between two reads, not a total: long generations must not be cut.
    read_timeout_s: float = 300.0
    max_connections: int = 1000
    keepalive_s: float = 60.0


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


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    firewall: FirewallConfig = field(default_factory=FirewallConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    providers: tuple[ProviderConfig, ...] = ()
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
    top = r.mapping(raw, "", {"server", "firewall", "upstream", "providers", "auto_providers"})

    server = r.mapping(top.get("server", {}), "server", {"host", "port", "workers"})
    firewall = r.mapping(top.get("firewall", {}), "firewall", {"max_body_bytes"})
    upstream = r.mapping(
        top.get("upstream", {}),
        "upstream",
        {"connect_timeout_s", "read_timeout_s", "max_connections", "keepalive_s"},
    )
    d_server, d_fw, d_up = ServerConfig(), FirewallConfig(), UpstreamConfig()
    providers = _providers(r, top.get("providers", {}))
    if r.get(top, "", "auto_providers", r.boolean, True):
        providers += _auto_providers(env, {p.name for p in providers})
    return Config(
        server=ServerConfig(
            host=r.get(server, "server", "host", r.string, d_server.host),
            port=r.get(server, "server", "port", r.port, d_server.port),
            workers=r.get(server, "server", "workers", r.positive_int, d_server.workers),
        ),
        firewall=FirewallConfig(
            max_body_bytes=r.get(
                firewall, "firewall", "max_body_bytes", r.positive_int, d_fw.max_body_bytes
            )
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
        providers=tuple(providers),
        source=source,
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


class _Reader:
    """Type-checked access to the parsed YAML, with errors that carry the key path."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env

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

        return _ENV_RE.sub(replace, value) if "$" in value else value

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

    def integer(self, value: object, path: str) -> int:
        return int(self._number(value, path, int))

    def positive_int(self, value: object, path: str) -> int:
        n = self.integer(value, path)
        if n <= 0:
            raise self.error(path, f"must be greater than 0, not {n}")
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
