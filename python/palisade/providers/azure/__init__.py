"""Azure OpenAI / Azure AI Foundry: OpenAI's API at deployment URLs (`api-version`, `api-key`).

The provider side is a kind (`azure`) whose connection builds deployment or v1 URLs and sends the
`api-key` or an Entra ID token; the client side is the route an `openai.AzureOpenAI` client calls
(`/v1/azure/openai/deployments/{deployment}/...`), whose surfaces take the model from the path.
"""

from palisade.providers.azure.dialect import AZURE_OPENAI
from palisade.providers.azure.surfaces import (
    AZURE_CHAT,
    AZURE_COMPLETIONS,
    AZURE_EMBEDDINGS,
    SURFACES,
)

__all__ = ["AZURE_CHAT", "AZURE_COMPLETIONS", "AZURE_EMBEDDINGS", "AZURE_OPENAI", "SURFACES"]
