"""`proxies` and `default_proxy`: the LLM proxies clients reach, and what each one allows.

A proxy also comes from the admin API and the store (`parse_proxy`); it is validated by the
same model, without interpolation.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from palisade.config.errors import ConfigError, Problem, Taint, explain, join
from palisade.config.fields import (
    SECTION,
    Flag,
    Fraction,
    HttpUrl,
    PositiveInt,
    RequiredText,
    Text,
    key,
)
from palisade.config.guardrails import Guardrail

AuthMethod = Literal["virtual_key", "provider_key", "jwt", "oauth"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("virtual_key", "provider_key", "jwt", "oauth")
# Asymmetric only: a shared-secret (HS*) token from an identity provider would need its secret
# here, and accepting HS* next to a public key invites algorithm confusion.
JwtAlgorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"
]
JWT_ALGORITHMS: tuple[str, ...] = JwtAlgorithm.__args__  # type: ignore[attr-defined]
DEFAULT_PROXY_ID = "default"
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


@dataclass(frozen=True, config=SECTION)
class JwtConfig:
    """Bearer JWTs from an external identity provider, verified against its JWKS."""

    issuer: RequiredText
    audience: RequiredText
    jwks_url: HttpUrl
    algorithms: tuple[JwtAlgorithm, ...] = ("RS256",)


@dataclasses.dataclass(frozen=True)
class DowngradeRule:
    """Send a simple request for one of `models` to `to` (`pipeline.downgrade`)."""

    models: tuple[str, ...]
    to: str
    max_prompt_tokens: int
    max_complexity: float


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class DowngradeSection(BaseModel):
    model_config = SECTION

    # `from` is a Python keyword: the file's key is the alias.
    models: Annotated[list[RequiredText], BeforeValidator(_one_or_many)] = Field(
        ...,
        alias="from",
        min_length=1,
        description="the requested model names or shell patterns the rule applies to "
        "(`gpt-4o`, `claude-sonnet-*`; one name or a list), matched against the name the "
        "client sent",
    )
    to: RequiredText = key(
        ...,
        "the cheaper model to send a simple request to (a name the gateway routes, or "
        "`provider:model`)",
    )
    max_prompt_tokens: PositiveInt = key(
        ...,
        "simple only if the prompt's texts count at most this many tokens (the gateway's "
        "tokenizer for the requested model)",
    )
    max_complexity: Fraction = key(
        ...,
        "simple only if the prompt's complexity score (0 to 1, from the Rust core: length, "
        "code, math, lists, questions, scripts, reasoning cue words) is at most this",
    )

    def build(self) -> DowngradeRule:
        return DowngradeRule(
            models=tuple(self.models),
            to=self.to,
            max_prompt_tokens=self.max_prompt_tokens,
            max_complexity=self.max_complexity,
        )


@dataclasses.dataclass(frozen=True)
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
    # Refuse a model without a price while a budget applies to the caller (it would spend none).
    refuse_unpriced: bool = False
    # Model name -> the models tried in order when its deployments fail (`routing.fallback_on`);
    # wins over the model's own `fallbacks`.
    fallbacks: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict, hash=False)
    # Model downgrade for simple requests, first matching rule wins; empty: off.
    downgrade: tuple[DowngradeRule, ...] = ()
    # The store's version in which this proxy last changed (0: not from the store).
    version: int = 0


class ProxySection(BaseModel):
    model_config = SECTION

    name: Text = key(..., "the proxy's name")
    id: Text | None = key(
        None,
        "derived from the name (`Support Bot` → `support-bot`); unique, lowercase letters, "
        "digits and `-`, and not a route word (`v1`, `openai`, `models`, `admin`, ...)",
        shown="from `name`",
    )
    description: Text = key("", "free text for operators", shown="")
    guardrails: list[Text] = key([], "names of guardrails (see [Guardrails](#guardrails))")
    auth: list[AuthMethod] = key(
        [],
        "accepted credentials: `virtual_key`, `provider_key`, `jwt`, `oauth` (see "
        "[Identity](#identity)). A proxy without `auth` is open: no credential is checked. "
        "Configure it on every proxy that is reachable by more than trusted clients",
        shown="`[]` (open)",
    )
    jwt: JwtConfig | None = key(
        None,
        "`issuer`, `audience`, `jwks_url` (required with `auth: [jwt]`) and `algorithms` "
        "(default `[RS256]`; asymmetric only: `RS*`, `PS*`, `ES256`, `ES384`, `EdDSA`)",
        shown="",
        json_schema_extra={"x-leaf": True},
    )
    providers: list[Text] = key(
        [],
        "the providers the proxy may reach; others → 403 `provider_not_allowed`",
        shown="`[]` (any)",
    )
    models: list[Text] = key(
        [],
        "model names or shell patterns the proxy may use (matched against the name the client "
        "sent and the provider's); others → 403 `model_not_allowed`",
        shown="`[]` (any)",
    )
    refuse_unpriced: Flag = key(
        False,
        "refuse a model that has no price (see [Prices](#prices)) with 400 `model_unpriced` "
        "while a budget applies to the caller; off, such a call is let through and costs 0",
    )
    fallbacks: dict[Text, list[Text]] = key(
        {},
        "model name → models tried in order when its deployments fail (see [Routing](#routing)); "
        "wins over the model's own `models.<model>.fallbacks`",
        shown="`{}`",
    )
    downgrade: list[DowngradeSection] = key(
        [],
        "model downgrade rules (see [Model downgrade](#model-downgrade)): a request for a "
        "`from` model that offers no tools, holds no images or files, and whose prompt is "
        "within both bounds goes to `to`; the first rule whose model and bounds match wins",
        shown="`[]` (off)",
    )

    def build(
        self, path: str, guardrails: Mapping[str, Guardrail], problems: list[Problem]
    ) -> ProxyConfig:
        pid = self.id if self.id is not None else proxy_id(self.name)
        if not _PROXY_ID_RE.match(pid):
            problems.append(
                (join(path, "id"), f"{pid!r} is not a valid id (lowercase letters, digits and '-')")
            )
        elif pid in RESERVED_PROXY_IDS:
            problems.append((join(path, "id"), f"{pid!r} is reserved for the gateway's own routes"))
        attached = []
        for j, name in enumerate(self.guardrails):
            if name in guardrails:
                attached.append(guardrails[name])
            else:
                problems.append(
                    (f"{join(path, 'guardrails')}[{j}]", f"no guardrail is named {name!r}")
                )
        if "jwt" in self.auth and self.jwt is None:
            problems.append((join(path, "jwt"), "is required when `auth` lists jwt"))
        return ProxyConfig(
            id=pid,
            name=self.name,
            description=self.description,
            guardrails=tuple(attached),
            auth=tuple(dict.fromkeys(self.auth)),
            jwt=self.jwt,
            providers=tuple(self.providers),
            models=tuple(self.models),
            refuse_unpriced=self.refuse_unpriced,
            fallbacks={m: tuple(chain) for m, chain in self.fallbacks.items()},
            downgrade=tuple(rule.build() for rule in self.downgrade),
        )


def proxy_id(name: str) -> str:
    """`Support Bot (EU)` -> `support-bot-eu`; accents are folded (`Équipe` -> `equipe`)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", folded.lower()))


def build_proxies(
    sections: Sequence[ProxySection] | None,
    default_proxy: str | None,
    guardrails: Mapping[str, Guardrail],
    problems: list[Problem],
) -> tuple[tuple[ProxyConfig, ...], str | None]:
    if sections is None:
        if default_proxy is not None and default_proxy != DEFAULT_PROXY_ID:
            problems.append(("default_proxy", f"names no proxy: {default_proxy!r}"))
        return (ProxyConfig(id=DEFAULT_PROXY_ID, name="default"),), DEFAULT_PROXY_ID
    out: list[ProxyConfig] = []
    for i, section in enumerate(sections):
        path = f"proxies[{i}]"
        proxy = section.build(path, guardrails, problems)
        if any(other.id == proxy.id for other in out):
            problems.append((f"{path}.id", f"{proxy.id!r} is used by another proxy"))
        out.append(proxy)
    ids = {p.id for p in out}
    if default_proxy is None:
        default_proxy = DEFAULT_PROXY_ID if DEFAULT_PROXY_ID in ids else None
    elif default_proxy not in ids:
        problems.append(("default_proxy", f"names no proxy: {default_proxy!r}"))
    return tuple(out), default_proxy


_PROXY = TypeAdapter(ProxySection)


def parse_proxy(
    raw: object, guardrails: Mapping[str, Guardrail], *, source: str, version: int = 0
) -> ProxyConfig:
    """One proxy definition outside the file (the admin API, the store); no interpolation, so
    a stored `${VAR}` stays text."""
    try:
        section = _PROXY.validate_python(raw)
    except ValidationError as exc:
        raise ConfigError.of(source, explain(exc, ProxySection, Taint())) from None
    problems: list[Problem] = []
    proxy = section.build("", guardrails, problems)
    if problems:
        raise ConfigError.of(source, problems)
    return dataclasses.replace(proxy, version=version)


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
    if proxy.refuse_unpriced:  # only when set: the stored proxies of older files stay the same
        out["refuse_unpriced"] = True
    if proxy.fallbacks:
        out["fallbacks"] = {m: list(chain) for m, chain in proxy.fallbacks.items()}
    if proxy.downgrade:  # only when set, as `refuse_unpriced`
        out["downgrade"] = [
            {
                "from": list(rule.models),
                "to": rule.to,
                "max_prompt_tokens": rule.max_prompt_tokens,
                "max_complexity": rule.max_complexity,
            }
            for rule in proxy.downgrade
        ]
    if proxy.jwt is not None:
        out["jwt"] = {
            "issuer": proxy.jwt.issuer,
            "audience": proxy.jwt.audience,
            "jwks_url": proxy.jwt.jwks_url,
            "algorithms": list(proxy.jwt.algorithms),
        }
    return out
