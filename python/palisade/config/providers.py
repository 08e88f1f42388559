"""`providers` and `auto_providers`: the upstreams the gateway may call."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel

from palisade.config.fields import (
    SECTION,
    Flag,
    HttpUrl,
    Int,
    OptionalText,
    PositiveFloat,
    Text,
    key,
    problem,
)
from palisade.providers.catalog import KNOWN_PROVIDERS

# The header a provider's key goes in when the file does not say.
DIALECT_AUTH = {"openai": "authorization", "anthropic": "x-api-key"}


@dataclasses.dataclass(frozen=True)
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
    # Pass the provider's account headers on to clients; off: they name the operator's account.
    expose_account_headers: bool = False


_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _provider_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise problem("a provider name uses lowercase letters, digits, '-' and '_'")
    return name


ProviderName = Annotated[str, AfterValidator(_provider_name)]


class ProviderSection(BaseModel):
    """One provider; its name is its key under `providers`."""

    model_config = SECTION

    kind: Literal["openai", "anthropic"] = key(
        "openai",
        "the API it speaks: `openai` (OpenAI-compatible) or `anthropic` (Messages API); a "
        "client of the other dialect is translated (OpenAI chat completions and Responses API "
        "clients to `anthropic`, Messages clients to `openai`; rules in the `translate*.py` "
        "modules under `providers/`)",
    )
    base_url: HttpUrl = key(..., "e.g. `https://api.openai.com/v1`")
    api_key: OptionalText = key(
        None,
        "sent by the gateway; the client's own Authorization never leaves (except on a proxy "
        "with `auth: [provider_key]`, which forwards the client's key instead)",
    )
    auth_header: OptionalText = key(
        None,
        "`authorization` sends `Bearer <key>`; any other name sends the bare key in that header "
        "(e.g. `api-key`)",
        shown="`authorization`; `x-api-key` for `kind: anthropic`",
    )
    models: list[Text] = key([], "names or shell patterns (`gpt-*`) routed here without a prefix")
    priority: Int = key(
        0,
        "higher wins when several providers claim a name (auto-added providers: 100); exact "
        "names beat patterns at equal priority, file order breaks ties",
    )
    stream_usage: Flag = key(
        True,
        "ask for stream usage even when the client did not (turn off for providers that reject "
        "`stream_options`)",
    )
    read_timeout_s: PositiveFloat | None = key(
        None, "per-provider `upstream.read_timeout_s`", shown="global"
    )
    expose_account_headers: Flag = key(
        False,
        "pass the provider's account headers (`openai-organization`, `openai-project`, "
        "`anthropic-organization-id`) on to clients; off, they stay with the gateway since they "
        "name the operator's account",
    )

    def build(self, name: str) -> ProviderConfig:
        return ProviderConfig(
            name=name,
            kind=self.kind,
            base_url=self.base_url.rstrip("/"),
            api_key=self.api_key,
            models=tuple(self.models),
            priority=self.priority,
            stream_usage=self.stream_usage,
            auth_header=(self.auth_header or DIALECT_AUTH[self.kind]).lower(),
            read_timeout_s=self.read_timeout_s,
            expose_account_headers=self.expose_account_headers,
        )


AUTO_PROVIDER_PRIORITY = 100


def build_providers(
    sections: Mapping[str, ProviderSection], env: Mapping[str, str], *, auto: bool
) -> tuple[ProviderConfig, ...]:
    out = [section.build(name) for name, section in sections.items()]
    if not auto:
        return tuple(out)
    for name, known in KNOWN_PROVIDERS.items():
        api_key = env.get(known.env_key, "")
        if name in sections or not api_key:
            continue
        out.append(
            ProviderConfig(
                name=name,
                base_url=known.base_url,
                api_key=api_key,
                kind=known.dialect,
                auth_header=known.auth,
                models=known.models,
                priority=AUTO_PROVIDER_PRIORITY,
            )
        )
    return tuple(out)
