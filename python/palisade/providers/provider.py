"""A configured provider: where it is, how it is reached, what it serves. Built from the config
file (`config.providers`) or from a known provider's key in the environment."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from fnmatch import fnmatchcase

from palisade.providers.quirks import Quirks


@dataclasses.dataclass(frozen=True)
class ProviderConfig:
    name: str
    base_url: str
    api_key: str | None = None
    # The provider's kind in the catalog (`openai`, `anthropic`, ...): its connection.
    kind: str = "openai"
    # The dialects it speaks; a client of another one is translated to the first.
    dialects: tuple[str, ...] = ("openai",)
    # Model names or shell-style patterns (`gpt-*`) this provider serves without a prefix.
    models: tuple[str, ...] = ()
    # Higher wins when several providers claim a plain model name.
    priority: int = 0
    # Ask the provider for stream usage (stream_options.include_usage) even when the client
    # did not, and strip it before the client sees it. Off for providers that reject the field.
    stream_usage: bool = True
    auth_header: str = "authorization"
    # Overrides upstream.read_timeout_s for this provider (None: use the global one).
    read_timeout_s: float | None = None
    # Pass the provider's account headers on to clients; off: they name the operator's account.
    expose_account_headers: bool = False
    # Settings only some kinds read (a region, an API version, deployment names), as the
    # config file gave them; the kind's connection interprets them.
    options: Mapping[str, object] = dataclasses.field(default_factory=dict, hash=False)
    # What of OpenAI's request it refuses (`providers.quirks`); None: nothing, at no cost.
    quirks: Quirks | None = None
    # Model name -> the provider's own name for it (an Azure deployment), applied by the
    # router; names not listed are sent as they are.
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)
    # (model pattern, dialects) pairs for kinds whose models speak different dialects (Vertex
    # AI: Anthropic's models the Messages API, Google's Gemini's); the first match wins.
    model_dialects: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def dialects_for(self, model: str) -> tuple[str, ...]:
        """The dialects the provider speaks for `model` (the router asks once per name)."""
        for pattern, dialects in self.model_dialects:
            if fnmatchcase(model, pattern):
                return dialects
        return self.dialects
