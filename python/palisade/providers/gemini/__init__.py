"""The Gemini dialect: Google's Generative Language API (`generateContent`, its stream and
`countTokens`), which Vertex AI speaks too."""

from palisade.providers.gemini.dialect import GEMINI
from palisade.providers.gemini.surfaces import COUNT_TOKENS, GENERATE, STREAM_GENERATE, SURFACES

__all__ = ["COUNT_TOKENS", "GEMINI", "GENERATE", "STREAM_GENERATE", "SURFACES"]
