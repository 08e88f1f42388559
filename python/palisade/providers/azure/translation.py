"""An Azure client's request to a provider of another dialect: its bodies are OpenAI chat
completions' already, so the first step of the chain through chat (`Chained`) changes nothing;
the provider's dialect's translation from chat does the rest."""

from __future__ import annotations

from palisade.providers.base import Surface
from palisade.providers.openai import CHAT
from palisade.providers.translation import Unchanged


class AsChat(Unchanged):
    """Chat completions as they are (the Azure route's model came from the path; the chain's
    next step names it in the provider's request)."""

    __slots__ = ("notes",)
    upstream: Surface = CHAT

    def __init__(self) -> None:
        self.notes: list[str] = []
