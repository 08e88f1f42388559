"""The OpenAI dialect: chat completions, completions, embeddings and the Responses API."""

from palisade.providers.openai.dialect import OPENAI
from palisade.providers.openai.surfaces import CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES, SURFACES

__all__ = ["CHAT", "COMPLETIONS", "EMBEDDINGS", "OPENAI", "RESPONSES", "SURFACES"]
