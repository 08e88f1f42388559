"""The Cohere dialect: its v2 API's chat and embed endpoints."""

from palisade.providers.cohere.dialect import COHERE
from palisade.providers.cohere.surfaces import CHAT, EMBED, SURFACES

__all__ = ["CHAT", "COHERE", "EMBED", "SURFACES"]
