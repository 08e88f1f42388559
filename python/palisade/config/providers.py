"""`providers` and `auto_providers`: the upstreams the gateway may call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, model_validator

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
from palisade.providers.catalog import KINDS, KNOWN_PROVIDERS
from palisade.providers.provider import ProviderConfig

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _provider_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise problem("a provider name uses lowercase letters, digits, '-' and '_'")
    return name


ProviderName = Annotated[str, AfterValidator(_provider_name)]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        known = f"must be one of {', '.join(KINDS)}"
        raise problem(f"{known}, not {kind!r}", known)
    return kind


ProviderKind = Annotated[str, AfterValidator(_kind)]


class ProviderSection(BaseModel):
    """One provider; its name is its key under `providers`."""

    model_config = SECTION

    kind: ProviderKind = key(
        "openai",
        "how it is reached and the API it speaks: "
        + ", ".join(f"`{name}`" for name in KINDS)
        + "; a client of another dialect is translated (rules in the `translate*.py` modules "
        "under `providers/`)",
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
        shown="`authorization`; `x-api-key` for `kind: anthropic`, `x-goog-api-key` for "
        "`kind: gemini`",
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

    project: OptionalText = key(None, "`kind: vertex`: the Google Cloud project")
    location: OptionalText = key(
        None, "`kind: vertex`: the region (`us-central1`, ...)", shown="`us-central1`"
    )
    credentials_file: OptionalText = key(
        None,
        "`kind: vertex`: a service-account JSON key; none: google-auth's default chain "
        "(GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server)",
    )

    @model_validator(mode="after")
    def _vertex_project(self) -> ProviderSection:
        if self.kind == "vertex" and not self.project:
            raise problem("`kind: vertex` needs `project` (the Google Cloud project)")
        return self

    def build(self, name: str) -> ProviderConfig:
        options = {
            k: v
            for k, v in (
                ("project", self.project),
                ("location", self.location),
                ("credentials_file", self.credentials_file),
            )
            if v is not None
        }
        return ProviderConfig(
            name=name,
            kind=self.kind,
            dialects=KINDS[self.kind].dialects,
            base_url=self.base_url.rstrip("/"),
            api_key=self.api_key,
            models=tuple(self.models),
            priority=self.priority,
            stream_usage=self.stream_usage,
            auth_header=(self.auth_header or KINDS[self.kind].auth).lower(),
            read_timeout_s=self.read_timeout_s,
            expose_account_headers=self.expose_account_headers,
            options=options,
            model_dialects=KINDS[self.kind].model_dialects,
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
                kind=known.kind,
                dialects=KINDS[known.kind].dialects,
                auth_header=known.auth or KINDS[known.kind].auth,
                models=known.models,
                priority=AUTO_PROVIDER_PRIORITY,
                model_dialects=KINDS[known.kind].model_dialects,
            )
        )
    return tuple(out)
