"""The providers the gateway knows by name, and which dialect meets which.

A provider's *kind* says which dialects it speaks and how it is reached (its `Connection`: the
URLs, a key in a header, a signature, a token). A known provider is switched on by its key in
the environment when the config file does not configure a provider of that name
(`auto_providers`).

Adding a provider that speaks a known dialect is one entry in `KNOWN_PROVIDERS`; a new way to
reach one is a kind; a new dialect is a package next to `openai/` and `anthropic/`, its entry in
`DIALECTS`, and its translation from OpenAI chat completions below: every other client surface
reaches it through chat (`TO_CHAT`), so one translation per dialect serves them all.
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
)
from palisade.providers.base import Dialect, Surface
from palisade.providers.bedrock import BEDROCK
from palisade.providers.bedrock.connection import SigV4Connection
from palisade.providers.bedrock.translation import ChatToBedrock
from palisade.providers.connection import Connection, KeyConnection
from palisade.providers.openai import CHAT, OPENAI, RESPONSES
from palisade.providers.openai.translation import ResponsesToChat
from palisade.providers.provider import ProviderConfig
from palisade.providers.translation import Chained, Translation


@dataclass(frozen=True, slots=True)
class Kind:
    # The dialects its providers speak; a client of another one is translated to the first.
    dialects: tuple[str, ...]
    # The header a key goes in when the config does not say (`authorization`: `Bearer <key>`).
    auth: str = "authorization"
    connect: Callable[[ProviderConfig], Connection] = KeyConnection


KINDS: dict[str, Kind] = {
    "openai": Kind(("openai",)),
    "anthropic": Kind(("anthropic",), auth="x-api-key"),
    "bedrock": Kind(("bedrock",), connect=SigV4Connection),
}


@dataclass(frozen=True, slots=True)
class KnownProvider:
    env_key: str
    base_url: str
    kind: str = "openai"
    auth: str | None = None  # the kind's
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
        kind="anthropic",
        models=("claude-*",),
    ),
    "gemini": KnownProvider(
        "GEMINI_API_KEY",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        models=("gemini-*",),
    ),
}

DIALECTS: dict[str, Dialect] = {"openai": OPENAI, "anthropic": ANTHROPIC}
DIALECTS["bedrock"] = BEDROCK

# (client surface, provider dialect) -> a new translation for one request.
_TRANSLATIONS: dict[tuple[Surface, str], Callable[[], Translation]] = {
    (CHAT, "anthropic"): ChatToAnthropic,
    (MESSAGES, "openai"): MessagesToOpenAI,
    (COUNT_TOKENS, "openai"): CountTokensLocally,
}
_TRANSLATIONS[(CHAT, "bedrock")] = ChatToBedrock
# A client surface -> the translation of its requests to OpenAI chat completions, for the
# dialects that have no translation of their own from it.
TO_CHAT: dict[Surface, Callable[[], Translation]] = {
    MESSAGES: MessagesToOpenAI,
    RESPONSES: ResponsesToChat,
}


class Translations:
    """Picks the translation a request needs, if any."""

    def between(self, surface: Surface, dialect: str) -> Translation:
        make = _TRANSLATIONS.get((surface, dialect))
        if make is not None:
            return make()
        to_chat = TO_CHAT.get(surface)
        from_chat = _TRANSLATIONS.get((CHAT, dialect))
        if to_chat is not None and from_chat is not None:
            return Chained(to_chat(), from_chat())
        raise BadRequest(
            f"Palisade: the model is served by a provider that speaks the {dialect} API, "
            f"and requests to `{surface.endpoint}` ({surface.dialect.name} API) cannot be "
            "translated to it; use that provider's own route, or a model of another "
            "provider.",
            param="model",
            code="translation_unavailable",
        )


def connect(provider: ProviderConfig) -> Connection:
    return KINDS[provider.kind].connect(provider)
