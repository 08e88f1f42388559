"""What a guardrail decided about one request: kept on the request context for the interaction
record and the metrics. A decision names rules, entity types and counts, never a matched value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

DirectionName = Literal["request", "response"]


@dataclass(frozen=True, slots=True)
class Decision:
    guardrail: str
    type: str  # pii | secrets | rules | injection | tool_policies | trusted_data
    action: str  # block | redact | mask | flag | allow | trust | untrust
    direction: DirectionName
    # Where in the body: `messages[2].content`, `choices[0].message.tool_calls[1]`, ...
    where: str
    # Entity type -> count (scanners), or the signals that fired (injection).
    counts: tuple[tuple[str, int], ...] = ()
    rule: str | None = None
    score: float | None = None

    def as_record(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "guardrail": self.guardrail,
            "type": self.type,
            "action": self.action,
            "direction": self.direction,
            "where": self.where,
        }
        if self.counts:
            out["counts"] = dict(self.counts)
        if self.rule is not None:
            out["rule"] = self.rule
        if self.score is not None:
            out["score"] = round(self.score, 3)
        return out


def path_text(path: Sequence[str | int]) -> str:
    """`("messages", 2, "content")` -> `messages[2].content`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
