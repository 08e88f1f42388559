"""Cohere's v2 API as surfaces: `v2/chat` (the model and `stream` in the body, SSE streams with
named events) and `v2/embed`, which generates nothing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from palisade.providers.base import BodyNamed, Slot, ToolCallSlot
from palisade.providers.cohere import shape, stream, usage
from palisade.providers.cohere.dialect import COHERE
from palisade.providers.parts import Parts, PartsSurface


class ChatSurface(PartsSurface, BodyNamed):
    parts = Parts(shape, stream, usage, stream.ChatGuard)
    dialect = COHERE
    endpoint = "v2/chat"


class EmbedSurface(ChatSurface):
    endpoint = "v2/embed"

    def request_texts(self, body: dict[str, Any]) -> list[Slot]:
        return shape.embed_request(body)

    def prompt_tokens(self, body: dict[str, Any], model: str) -> int:
        return usage.embed_tokens(body, model)

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return 0

    def answer_texts(self, obj: dict[str, Any]) -> list[Slot]:
        return []  # vectors, and the inputs echoed back

    def answer_tool_calls(self, obj: dict[str, Any]) -> list[ToolCallSlot]:
        return []

    def output_texts(self, obj: dict[str, Any]) -> Iterator[str]:
        return iter(())

    def request_stream(self, body: dict[str, Any], params: Mapping[str, Any]) -> object:
        return False  # the endpoint never streams; a `stream` field is the provider's to refuse


CHAT = ChatSurface()
EMBED = EmbedSurface()
SURFACES = (CHAT, EMBED)
