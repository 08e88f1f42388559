"""One planned Anthropic answer: what `messages` writes whole and `anthropic_stream` streams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from palisade.mock.usage import anthropic_usage

# What `message_start` reports before any output exists, as the real stream does.
PLACEHOLDER_OUTPUT_TOKENS = 1


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    model: str
    content: tuple[dict[str, Any], ...]
    stop_reason: str
    stop_sequence: str | None
    input_tokens: int
    """Not read from the cache."""
    cached_tokens: int
    output_tokens: int

    def message(self, *, started: bool = False) -> dict[str, Any]:
        """The whole message, or (`started`) the empty one a stream's `message_start` carries."""
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [] if started else list(self.content),
            "stop_reason": None if started else self.stop_reason,
            "stop_sequence": None if started else self.stop_sequence,
            "stop_details": None,
            "usage": anthropic_usage(
                self.input_tokens,
                self.cached_tokens,
                PLACEHOLDER_OUTPUT_TOKENS if started else self.output_tokens,
            ),
        }
