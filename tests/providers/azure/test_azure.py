"""Azure OpenAI: the connection's URLs and credentials, and the client route's surfaces."""

from __future__ import annotations

from typing import Any

import pytest

from palisade.config.loader import parse_config
from palisade.providers.azure import AZURE_CHAT, AZURE_EMBEDDINGS, AZURE_OPENAI
from palisade.providers.azure.connection import AzureConnection
from palisade.providers.catalog import Translations, connect
from palisade.providers.openai import CHAT, RESPONSES
from palisade.providers.provider import ProviderConfig
from palisade.upstream.routing import Router


def _azure(**section: Any) -> ProviderConfig:
    raw = {"providers": {"az": {"kind": "azure", "base_url": "https://r.openai.azure.com/"}}}
    raw["providers"]["az"].update(section)
    config = parse_config({"auto_providers": False, **raw}, source="t.yaml", env={})
    return config.providers[0]


def test_deployment_urls_carry_the_api_version() -> None:
    provider = _azure(api_key="k", api_version="2024-10-21")
    connection = connect(provider)
    assert isinstance(connection, AzureConnection)
    url = connection.url(CHAT, "prod 4o", stream=True)
    assert str(url) == (
        "https://r.openai.azure.com/openai/deployments/prod%204o/chat/completions"
        "?api-version=2024-10-21"
    )
    assert connection.url(CHAT, "prod 4o", stream=True) is url  # parsed once
    assert str(connection.url(AZURE_EMBEDDINGS, "emb", stream=False)).endswith(
        "/openai/deployments/emb/embeddings?api-version=2024-10-21"
    )
    # Responses names the deployment in its body, not in the path.
    assert str(connection.url(RESPONSES, "prod", stream=False)) == (
        "https://r.openai.azure.com/openai/responses?api-version=2024-10-21"
    )


def test_without_an_api_version_the_v1_api() -> None:
    connection = connect(_azure(api_key="k"))
    assert str(connection.url(CHAT, "prod", stream=False)) == (
        "https://r.openai.azure.com/openai/v1/chat/completions"
    )
    assert str(connection.path_url("models")) == "https://r.openai.azure.com/openai/v1/models"


def test_the_key_goes_in_api_key_an_entra_token_as_bearer_a_clients_key_wins() -> None:
    keyed = connect(_azure(api_key="secret"))
    headers: dict[str, str] = {}
    url = keyed.url(CHAT, "d", stream=False)
    assert keyed.authorize(headers, url, b"", None) is None
    assert headers == {"api-key": "secret"}
    headers = {}
    keyed.authorize(headers, url, b"", "client-own")
    assert headers == {"api-key": "client-own"}
    entra = connect(_azure(azure_ad_token="eyJ.token"))
    headers = {}
    entra.authorize(headers, url, b"", None)
    assert headers == {"authorization": "Bearer eyJ.token"}


def test_deployments_map_models_and_are_routed_to_the_provider() -> None:
    provider = _azure(api_key="k", deployments={"gpt-4o": "prod-4o"}, models=["gpt-4.1"])
    assert provider.models == ("gpt-4.1", "gpt-4o")
    assert provider.auth_header == "api-key"
    router = Router((provider,))
    assert router.resolve("gpt-4o").model == "prod-4o"
    assert router.resolve("gpt-4.1").model == "gpt-4.1"  # unmapped: same-named deployment


def test_the_client_route_takes_the_model_from_the_deployment_and_the_key_from_api_key() -> None:
    assert AZURE_CHAT.request_model({"model": "x"}, {"deployment": "prod-4o"}) == "prod-4o"
    assert AZURE_CHAT.dialect.name == "openai"
    assert AZURE_OPENAI.credential({"api-key": "k1"}) == "k1"
    assert AZURE_OPENAI.credential({"authorization": "Bearer t1"}) == "t1"
    assert AZURE_OPENAI.credential({}) is None


@pytest.mark.parametrize("dialect", ["anthropic"])
def test_an_azure_client_reaches_another_dialect_through_chat(dialect: str) -> None:
    translation = Translations().between(AZURE_CHAT, dialect)
    assert translation.upstream.dialect.name == dialect
    body = translation.request({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert body["messages"][0]["role"] == "user"
