"""The providers the gateway knows by name, and which dialect meets which.

A known provider is switched on by its key in the environment when the config file does not
configure a provider of that name (`auto_providers`). `dialect` is the API it speaks; `auth` the
header its key goes in (`authorization` sends `Bearer <key>`).

Adding a provider that speaks a known dialect is one entry here; a new dialect is a package
next to `openai/` and `anthropic/`, its entry in `DIALECTS`, and its translations below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from palisade.errors import BadRequest
from palisade.providers.anthropic import ANTHROPIC, COUNT_TOKENS, MESSAGES
from palisade.providers.anthropic.translation import (
    ChatToAnthropic,
    CountTokensLocally,
    MessagesToOpenAI,
    ResponsesToAnthropic,
)
from palisade.providers.base import Dialect, Surface
from palisade.providers.openai import CHAT, OPENAI, RESPONSES
from palisade.providers.translation import Translation


@dataclass(frozen=True, slots=True)
class KnownProvider:
    env_key: str
    base_url: str
    dialect: str = "openai"
    auth: str = "authorization"
    # Model names or shell patterns routed to it without a `provider:` prefix.
    models: tuple[str, ...] = ()


KNOWN_PROVIDERS: dict[str, KnownProvider] = {
    "openai": KnownProvider(
        "OPENAI_API_KEY",
        "https://api.openai.com/v1",
        models=("gpt-*", "chatgpt-*", "o1*", "o3*", "o4*", "text-embedding-*", "omni-*", "codex-*"),
    ),
    "groq": KnownProvider("GROQ_API_KEY", "https://api.groq.com/openai/v1"),
    "mistral": KnownProvider(
        "MISTRAL_API_KEY",
        "https://api.mistral.ai/v1",
        models=("mistral-*", "codestral-*", "ministral-*", "magistral-*", "pixtral-*"),
    ),
    "deepseek": KnownProvider(
        "DEEPSEEK_API_KEY", "https://api.deepseek.com/v1", models=("deepseek-*",)
    ),
    "together": KnownProvider("TOGETHER_API_KEY", "https://api.together.xyz/v1"),
    "fireworks": KnownProvider("FIREWORKS_API_KEY", "https://api.fireworks.ai/inference/v1"),
    "openrouter": KnownProvider("OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"),
    "anthropic": KnownProvider(
        "ANTHROPIC_API_KEY",
        "https://api.anthropic.com/v1",
        dialect="anthropic",
        auth="x-api-key",
        models=("claude-*",),
    ),
    "gemini": KnownProvider(
        "GEMINI_API_KEY",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        models=("gemini-*",),
    ),
}

DIALECTS: dict[str, Dialect] = {"openai": OPENAI, "anthropic": ANTHROPIC}

# (client surface, provider dialect) -> a new translation for one request.
_TRANSLATIONS: dict[tuple[Surface, str], Callable[[], Translation]] = {
    (CHAT, "anthropic"): ChatToAnthropic,
    (RESPONSES, "anthropic"): ResponsesToAnthropic,
    (MESSAGES, "openai"): MessagesToOpenAI,
    (COUNT_TOKENS, "openai"): CountTokensLocally,
}


class Translations:
    """Picks the translation a request needs, if any."""

    def between(self, surface: Surface, dialect: str) -> Translation | None:
        if surface.dialect.name == dialect:
            return None
        make = _TRANSLATIONS.get((surface, dialect))
        if make is None:
            raise BadRequest(
                f"Palisade: the model is served by a provider that speaks the {dialect} API, "
                f"and requests to `{surface.endpoint}` ({surface.dialect.name} API) cannot be "
                "translated to it; use that provider's own route, or a model of another "
                "provider.",
                param="model",
                code="translation_unavailable",
            )
        return make()
