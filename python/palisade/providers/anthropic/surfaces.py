"""Anthropic's Messages API as surfaces: `messages` and `messages/count_tokens` (which counts a
prompt and generates nothing; its prompt is guarded like any other, since it reaches the
provider)."""

from __future__ import annotations

from typing import Any

from palisade.pricing import Usage
from palisade.providers.anthropic import shape, stream, usage
from palisade.providers.anthropic.dialect import ANTHROPIC
from palisade.providers.base import BodyNamed
from palisade.providers.parts import Parts, PartsSurface


class MessagesSurface(PartsSurface, BodyNamed):
    parts = Parts(shape, stream, usage, stream.MessagesGuard)
    dialect = ANTHROPIC

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint


class CountTokensSurface(MessagesSurface):
    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return 0

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        # `{"input_tokens": N}` is the answer, not a use: nothing was generated or billed.
        return Usage()


MESSAGES = MessagesSurface("messages")
COUNT_TOKENS = CountTokensSurface("messages/count_tokens")
SURFACES = (MESSAGES, COUNT_TOKENS)
