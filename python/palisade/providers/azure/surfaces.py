"""The endpoints an Azure OpenAI client calls: OpenAI's, with the model (the deployment) in the
path, `openai/deployments/{deployment}/chat/completions`. Bodies, streams and usage are OpenAI's;
only where the model and the credential come from differ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from palisade.providers.azure.dialect import AZURE_OPENAI
from palisade.providers.openai.dialect import OpenAIDialect
from palisade.providers.openai.surfaces import ChatSurface, CompletionsSurface, EmbeddingsSurface


class _Deployment:
    """The model is the route's `{deployment}`; the body's `model`, if any, is not read."""

    dialect: OpenAIDialect = AZURE_OPENAI

    def request_model(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return params.get("deployment")


class AzureChatSurface(_Deployment, ChatSurface):
    pass


class AzureCompletionsSurface(_Deployment, CompletionsSurface):
    pass


class AzureEmbeddingsSurface(_Deployment, EmbeddingsSurface):
    pass


AZURE_CHAT = AzureChatSurface("chat/completions")
AZURE_COMPLETIONS = AzureCompletionsSurface("completions")
AZURE_EMBEDDINGS = AzureEmbeddingsSurface("embeddings")
SURFACES = (AZURE_CHAT, AZURE_COMPLETIONS, AZURE_EMBEDDINGS)
