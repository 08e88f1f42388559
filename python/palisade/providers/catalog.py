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
from palisade.providers.azure import AZURE_CHAT
from palisade.providers.azure.connection import AzureConnection
from palisade.providers.azure.translation import AsChat
from palisade.providers.base import Dialect, Surface
from palisade.providers.bedrock import BEDROCK
from palisade.providers.bedrock.connection import SigV4Connection
from palisade.providers.bedrock.translation import ChatToBedrock
from palisade.providers.cohere import COHERE
from palisade.providers.cohere.translation import ChatToCohere, EmbeddingsToCohere
from palisade.providers.connection import Connection, KeyConnection
from palisade.providers.gemini import GEMINI
from palisade.providers.gemini.translation import ChatToGemini
from palisade.providers.gemini.vertex import VertexConnection
from palisade.providers.listing import Lister, json_listing, named_listing
from palisade.providers.ollama import OLLAMA_CHAT
from palisade.providers.ollama.translation import OllamaToChat
from palisade.providers.openai import CHAT, EMBEDDINGS, OPENAI, RESPONSES
from palisade.providers.openai.translation import ResponsesToChat
from palisade.providers.provider import ProviderConfig
from palisade.providers.quirks import Quirks, quirks
from palisade.providers.translation import Chained, Translation


@dataclass(frozen=True, slots=True)
class Kind:
    # The dialects its providers speak; a client of another one is translated to the first.
    dialects: tuple[str, ...]
    # The header a key goes in when the config does not say (`authorization`: `Bearer <key>`).
    auth: str = "authorization"
    connect: Callable[[ProviderConfig], Connection] = KeyConnection
    # (model pattern, dialects): the models that speak only some of `dialects`.
    model_dialects: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # How its providers list their models; None: from their configured model names.
    listing: Lister | None = json_listing


KINDS: dict[str, Kind] = {
    "openai": Kind(("openai",)),
    "anthropic": Kind(("anthropic",), auth="x-api-key"),
    # Cohere lists at `/v1/models`, Gemini at `models`, both as `{"models": [{"name"}]}`.
    "cohere": Kind(("cohere",), listing=named_listing("v1/models")),
    "gemini": Kind(("gemini",), auth="x-goog-api-key", listing=named_listing("models")),
    # Vertex AI: Google's models in the Gemini dialect, Anthropic's (`claude-*`) in theirs; an
    # OAuth token from google-auth (`providers/gemini/vertex.py`).
    "vertex": Kind(
        ("gemini", "anthropic"),
        connect=VertexConnection,
        model_dialects=(("claude-*", ("anthropic",)), ("*", ("gemini",))),
        listing=None,
    ),
    # Deployments are listed from the config: Azure's own listing names base models.
    "azure": Kind(("openai",), auth="api-key", connect=AzureConnection, listing=None),
    # Bedrock lists its models through another API (the control plane's): from the config.
    "bedrock": Kind(("bedrock",), connect=SigV4Connection, listing=None),
}


@dataclass(frozen=True, slots=True)
class KnownProvider:
    # Its key in the environment switches it on (a local server's is optional).
    env_key: str
    base_url: str
    kind: str = "openai"
    auth: str | None = None  # the kind's
    # Model names or shell patterns routed to it without a `provider:` prefix.
    models: tuple[str, ...] = ()
    # What of OpenAI's request it refuses (`providers.quirks`), as documented by the provider.
    quirks: Quirks | None = None
    # A local server (vLLM, Ollama) takes no key: this variable, its base URL, switches it on;
    # `base_path` is added when the URL lacks it (`OLLAMA_API_BASE=http://host:11434`).
    env_base: str | None = None
    base_path: str = ""


KNOWN_PROVIDERS: dict[str, KnownProvider] = {
    "openai": KnownProvider(
        "OPENAI_API_KEY",
        "https://api.openai.com/v1",
        models=("gpt-*", "chatgpt-*", "o1*", "o3*", "o4*", "text-embedding-*", "omni-*", "codex-*"),
    ),
    # console.groq.com/docs/openai: 400 on these fields, and `n` must be 1.
    "groq": KnownProvider(
        "GROQ_API_KEY",
        "https://api.groq.com/openai/v1",
        quirks=quirks(("logprobs", "logit_bias", "top_logprobs"), max_choices=1),
    ),
    # Mistral's API refuses fields it does not know (422) and always ends a stream with its
    # usage, so `stream_options` is never sent.
    "mistral": KnownProvider(
        "MISTRAL_API_KEY",
        "https://api.mistral.ai/v1",
        models=("mistral-*", "codestral-*", "ministral-*", "magistral-*", "pixtral-*"),
        quirks=quirks(
            ("stream_options", "logit_bias", "logprobs", "top_logprobs", "service_tier", "store")
        ),
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
        "https://generativelanguage.googleapis.com/v1beta",
        kind="gemini",
        models=("gemini-*",),
    ),
    "cohere": KnownProvider(
        "COHERE_API_KEY",
        "https://api.cohere.com",
        kind="cohere",
        models=("command-*", "c4ai-*", "embed-*"),
    ),
    "xai": KnownProvider("XAI_API_KEY", "https://api.x.ai/v1", models=("grok-*",)),
    # inference-docs.cerebras.ai/resources/openai: 400 on these fields.
    "cerebras": KnownProvider(
        "CEREBRAS_API_KEY",
        "https://api.cerebras.ai/v1",
        quirks=quirks(
            (
                "frequency_penalty",
                "logit_bias",
                "presence_penalty",
                "parallel_tool_calls",
                "service_tier",
            )
        ),
    ),
    "minimax": KnownProvider(
        "MINIMAX_API_KEY",
        "https://api.minimax.io/v1",
        models=("MiniMax-*", "minimax-*"),
        quirks=quirks(max_choices=1),
    ),
    "zhipuai": KnownProvider(
        "ZHIPUAI_API_KEY", "https://open.bigmodel.cn/api/paas/v4", models=("glm-*",)
    ),
    # Perplexity's Sonar API takes no `stream_options` (every chunk carries the usage so far)
    # and no log probabilities, and answers with one choice.
    "perplexity": KnownProvider(
        "PERPLEXITY_API_KEY",
        "https://api.perplexity.ai",
        models=("sonar*",),
        quirks=quirks(("stream_options", "logit_bias", "logprobs", "top_logprobs"), max_choices=1),
    ),
    # Local servers: switched on by their base URL, no key needed.
    "vllm": KnownProvider(
        "VLLM_API_KEY", "http://localhost:8000/v1", env_base="VLLM_API_BASE", base_path="/v1"
    ),
    "ollama": KnownProvider(
        "OLLAMA_API_KEY", "http://localhost:11434/v1", env_base="OLLAMA_API_BASE", base_path="/v1"
    ),
}

DIALECTS: dict[str, Dialect] = {
    "openai": OPENAI,
    "anthropic": ANTHROPIC,
    "bedrock": BEDROCK,
    "cohere": COHERE,
    "gemini": GEMINI,
}

# (client surface, provider dialect) -> a new translation for one request.
_TRANSLATIONS: dict[tuple[Surface, str], Callable[[], Translation]] = {
    (CHAT, "anthropic"): ChatToAnthropic,
    (MESSAGES, "openai"): MessagesToOpenAI,
    (COUNT_TOKENS, "openai"): CountTokensLocally,
    (CHAT, "cohere"): ChatToCohere,
    (EMBEDDINGS, "cohere"): EmbeddingsToCohere,
    # Cohere counts no chat prompt either: Claude Code's token counts are the gateway's.
    (COUNT_TOKENS, "cohere"): CountTokensLocally,
    (CHAT, "gemini"): ChatToGemini,
    (CHAT, "bedrock"): ChatToBedrock,
    (OLLAMA_CHAT, "openai"): OllamaToChat,
}
# A client surface -> the translation of its requests to OpenAI chat completions, for the
# dialects that have no translation of their own from it.
TO_CHAT: dict[Surface, Callable[[], Translation]] = {
    MESSAGES: MessagesToOpenAI,
    RESPONSES: ResponsesToChat,
    AZURE_CHAT: AsChat,
    OLLAMA_CHAT: OllamaToChat,
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
