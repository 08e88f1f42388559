"""The Anthropic dialect: the Messages API and its token counting."""

from palisade.providers.anthropic.dialect import ANTHROPIC
from palisade.providers.anthropic.surfaces import COUNT_TOKENS, MESSAGES, SURFACES

__all__ = ["ANTHROPIC", "COUNT_TOKENS", "MESSAGES", "SURFACES"]
