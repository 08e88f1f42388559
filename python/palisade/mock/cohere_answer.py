"""One planned Cohere v2 chat answer: what `cohere.chat` writes whole and `cohere_stream` streams.

Usage: `billed_units` count the prompt's and the answer's words (the mock's tokens); `tokens`
add the template tokens Cohere puts around a prompt (`TEMPLATE_TOKENS`), as the real API reports
more tokens than it bills.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEMPLATE_TOKENS = 7


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    text: str | None
    tool_plan: str | None
    tool_calls: tuple[dict[str, Any], ...]
    citations: tuple[dict[str, Any], ...]
    finish_reason: str
    input_tokens: int
    output_tokens: int

    def usage(self) -> dict[str, Any]:
        return {
            "billed_units": {
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
            },
            "tokens": {
                "input_tokens": self.input_tokens + TEMPLATE_TOKENS,
                "output_tokens": self.output_tokens,
            },
        }

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant"}
        if self.tool_calls:
            message["tool_plan"] = self.tool_plan
            message["tool_calls"] = list(self.tool_calls)
        else:
            message["content"] = [{"type": "text", "text": self.text or ""}]
            if self.citations:
                message["citations"] = list(self.citations)
        return {
            "id": self.id,
            "finish_reason": self.finish_reason,
            "message": message,
            "usage": self.usage(),
        }
