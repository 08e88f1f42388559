"""`providers` and `auto_providers`: the upstreams the gateway may call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, model_validator

from palisade.config.errors import Problem
from palisade.config.fields import (
    SECTION,
    Flag,
    Int,
    OptionalHttpUrl,
    OptionalText,
    PositiveFloat,
    PositiveInt,
    Text,
    key,
    problem,
)
from palisade.providers.azure.entra import DEFAULT_SCOPE, EntraApp
from palisade.providers.bedrock.connection import default_base_url
from palisade.providers.catalog import KINDS, KNOWN_PROVIDERS, KnownProvider
from palisade.providers.provider import ProviderConfig
from palisade.providers.quirks import Quirks, quirks

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


class QuirksSection(BaseModel):
    """What an OpenAI-compatible provider refuses of OpenAI's request."""

    model_config = SECTION

    drop: list[Text] = key(
        [],
        "request fields dropped before the body leaves, each noted in the "
        "`x-palisade-dropped-params` header and the record (`stream_options` here: the gateway "
        "never asks for stream usage and counts a stream's tokens itself); without `quirks`, "
        "a known provider's name gets the catalog's (README: [Providers](#providers))",
    )
    max_choices: PositiveInt | None = key(
        None, "a request for more choices (`n`) is refused with 400", shown="none (any)"
    )

    def build(self) -> Quirks | None:
        return quirks(tuple(self.drop), self.max_choices)


class EntraSection(BaseModel):
    """An Entra ID app whose client-credentials tokens reach an Azure resource."""

    model_config = SECTION

    tenant_id: OptionalText = key(None, "the directory (tenant) id; or give `token_url`")
    client_id: Text = key(..., "the app's (client) id")
    client_secret: Text = key(..., "the app's secret")
    token_url: OptionalHttpUrl = key(
        None,
        "the token endpoint",
        shown="`https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token`",
    )
    scope: Text = key(DEFAULT_SCOPE, "the scope asked for")

    def build(self) -> EntraApp | None:
        url = self.token_url or (EntraApp.for_tenant(self.tenant_id) if self.tenant_id else None)
        if url is None:
            return None
        return EntraApp(url, self.client_id, self.client_secret, self.scope)


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
        "e.g. `https://api.openai.com/v1`; for `kind: azure` the resource's endpoint "
        "(`https://NAME.openai.azure.com`); for `kind: bedrock`, "
        "`https://bedrock-runtime.{region}.amazonaws.com` when not given",
        shown="required, except for a known provider's name (`groq`, `mistral`, ...: its URL) "
        "and `kind: bedrock`",
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
    quirks: QuirksSection | None = key(
        None,
        "what the provider refuses of OpenAI's request",
        shown="the known provider's of the same name (README: providers), else none",
    )
    api_version: OptionalText = key(
        None,
        "`kind: azure`: the `api-version` of deployment URLs "
        "(`{base_url}/openai/deployments/{deployment}/...?api-version=`); unset, the v1 API "
        "(`{base_url}/openai/v1/...`, the deployment named in the body)",
        shown="none (v1 API)",
    )
    deployments: dict[Text, Text] = key(
        {},
        "`kind: azure`: model name -> deployment name; the names are routed here, and a model "
        "not listed goes to the deployment of the same name",
    )
    azure_ad_token: OptionalText = key(
        None,
        "`kind: azure`: a Microsoft Entra ID token sent as `Authorization: Bearer` instead of "
        "the `api-key`",
    )

    entra: EntraSection | None = key(
        None,
        "`kind: azure`: Entra ID tokens by client credentials, fetched at start and renewed "
        "before they expire",
        shown="none",
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

    def build(self, name: str) -> ProviderConfig:
        known = KNOWN_PROVIDERS.get(name)
        base_url = self.base_url or (known.base_url if known is not None else None)
        if base_url is None and self.kind == "bedrock":
            base_url = default_base_url(self.region or "us-east-1")
        if base_url is None:
            # Checked by `check` at load time; unreachable for a validated file.
            raise ValueError(f"provider {name} has no base_url")
        if self.quirks is not None:
            found = self.quirks.build()
        else:
            found = known.quirks if known is not None and known.kind == self.kind else None
        options: dict[str, object] = {
            k: v
            for k, v in (
                ("project", self.project),
                ("location", self.location),
                ("credentials_file", self.credentials_file),
                ("api_version", self.api_version),
                ("azure_ad_token", self.azure_ad_token),
                ("region", self.region),
                ("aws_access_key_id", self.aws_access_key_id),
                ("aws_secret_access_key", self.aws_secret_access_key),
                ("aws_session_token", self.aws_session_token),
                ("profile", self.profile),
            )
            if v is not None
        }
        if self.entra is not None:
            app = self.entra.build()
            if app is not None:
                options["entra"] = app
        models = tuple(self.models)
        models += tuple(m for m in self.deployments if m not in models)
        return ProviderConfig(
            name=name,
            kind=self.kind,
            dialects=KINDS[self.kind].dialects,
            base_url=base_url.rstrip("/"),
            api_key=self.api_key,
            models=models,
            priority=self.priority,
            stream_usage=self.stream_usage and (found is None or found.stream_options),
            auth_header=(self.auth_header or KINDS[self.kind].auth).lower(),
            read_timeout_s=self.read_timeout_s,
            expose_account_headers=self.expose_account_headers,
            options=options,
            model_dialects=KINDS[self.kind].model_dialects,
            quirks=found,
            aliases=dict(self.deployments),
        )


AUTO_PROVIDER_PRIORITY = 100


def build_providers(
    sections: Mapping[str, ProviderSection],
    env: Mapping[str, str],
    *,
    auto: bool,
    problems: list[Problem] | None = None,
) -> tuple[ProviderConfig, ...]:
    out = []
    for name, section in sections.items():
        if section.base_url is None and name not in KNOWN_PROVIDERS and section.kind != "bedrock":
            if problems is not None:
                problems.append(
                    (f"providers.{name}.base_url", "is required (not a known provider's name)")
                )
            continue
        entra = section.entra
        if entra is not None and entra.token_url is None and entra.tenant_id is None:
            if problems is not None:
                problems.append((f"providers.{name}.entra", "needs `tenant_id` or `token_url`"))
            continue
        out.append(section.build(name))
    if not auto:
        return tuple(out)
    for name, known in KNOWN_PROVIDERS.items():
        if name in sections:
            continue
        api_key = env.get(known.env_key, "") or None
        base_url = _auto_base_url(known, env)
        if base_url is None or (api_key is None and known.env_base is None):
            continue
        found = known.quirks
        out.append(
            ProviderConfig(
                name=name,
                base_url=base_url,
                api_key=api_key,
                kind=known.kind,
                dialects=KINDS[known.kind].dialects,
                auth_header=known.auth or KINDS[known.kind].auth,
                models=known.models,
                priority=AUTO_PROVIDER_PRIORITY,
                model_dialects=KINDS[known.kind].model_dialects,
                stream_usage=found is None or found.stream_options,
                quirks=found,
            )
        )
    return tuple(out)


def _auto_base_url(known: KnownProvider, env: Mapping[str, str]) -> str | None:
    """A hosted provider's URL; a local server's from its variable (None: not switched on),
    with its API's path added when the variable gives only the server's address."""
    if known.env_base is None:
        return known.base_url
    base = env.get(known.env_base, "").rstrip("/")
    if not base:
        return None
    if known.base_path and not base.endswith(known.base_path):
        base += known.base_path
    return base
