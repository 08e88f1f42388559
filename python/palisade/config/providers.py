"""`providers` and `auto_providers`: the upstreams the gateway may call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator

from palisade.config.fields import (
    SECTION,
    Flag,
    Int,
    OptionalHttpUrl,
    OptionalText,
    PositiveFloat,
    Text,
    key,
    problem,
)
from palisade.providers.bedrock.connection import default_base_url
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
    base_url: OptionalHttpUrl = key(
        None,
        "e.g. `https://api.openai.com/v1`; for `kind: bedrock`, "
        "`https://bedrock-runtime.{region}.amazonaws.com` when not given",
        shown="required (but for `kind: bedrock`)",
        validate_default=True,
    )
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

    # `kind: bedrock`: the AWS region and credentials (else botocore's credential chain:
    # environment, profile, web identity, container and instance roles).
    region: OptionalText = key(None, "`kind: bedrock`: the AWS region", shown="`us-east-1`")
    aws_access_key_id: OptionalText = key(
        None, "`kind: bedrock`: with `aws_secret_access_key`; else botocore's credential chain"
    )
    aws_secret_access_key: OptionalText = key(None, "`kind: bedrock`: the access key's secret")
    aws_session_token: OptionalText = key(None, "`kind: bedrock`: for temporary credentials")
    profile: OptionalText = key(
        None, "`kind: bedrock`: a profile of the AWS config files, for the credential chain"
    )

    @field_validator("base_url", mode="after")
    @classmethod
    def _url_unless_bedrock(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("kind", "openai") != "bedrock":
            raise problem("is required")
        return value

    def _options(self) -> dict[str, object]:
        names = ("region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token")
        return {n: getattr(self, n) for n in (*names, "profile") if getattr(self, n)}

    def build(self, name: str) -> ProviderConfig:
        base_url = self.base_url or default_base_url(self.region or "us-east-1")
        return ProviderConfig(
            name=name,
            kind=self.kind,
            dialects=KINDS[self.kind].dialects,
            base_url=base_url.rstrip("/"),
            options=self._options(),
            api_key=self.api_key,
            models=tuple(self.models),
            priority=self.priority,
            stream_usage=self.stream_usage,
            auth_header=(self.auth_header or KINDS[self.kind].auth).lower(),
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
                kind=known.kind,
                dialects=KINDS[known.kind].dialects,
                auth_header=known.auth or KINDS[known.kind].auth,
                models=known.models,
                priority=AUTO_PROVIDER_PRIORITY,
            )
        )
    return tuple(out)
