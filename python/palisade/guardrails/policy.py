"""A proxy's guardrails, compiled once per worker: one scanner per direction for all of its
`pii`, `secrets` and `rules` guardrails (every text is scanned once, whatever the number of
guardrails), the injection thresholds, and the tool and trusted-data policies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from palisade._core import Match, Scanner
from palisade.config import (
    InjectionGuardrail,
    ProxyConfig,
    ScanGuardrail,
    ToolPolicyGuardrail,
    TrustedDataGuardrail,
)
from palisade.errors import GuardrailViolation
from palisade.guardrails.decisions import Decision, DirectionName, path_text
from palisade.guardrails.tools import ToolPolicy, TrustPolicy

# When guardrails disagree on a kind, the strictest action applies.
_STRENGTH = {"flag": 0, "redact": 1, "mask": 2, "block": 3}

_WHAT = {"pii": "personal data", "secrets": "a secret", "rules": "a forbidden pattern"}
ERROR_CODES = {
    "pii": "pii_detected",
    "secrets": "secret_detected",
    "rules": "rule_matched",
    "injection": "prompt_injection_detected",
}


@dataclass(frozen=True)
class ScanPlan:
    scanner: Scanner
    # Kind -> the action that applies and the guardrails that asked for it.
    action: dict[str, str]
    owners: dict[str, tuple[ScanGuardrail, ...]]
    redact_kinds: list[str]
    mask_kinds: list[str]

    @classmethod
    def build(
        cls,
        guardrails: Iterable[ScanGuardrail],
        *,
        response: bool,
        admin_tokens: Sequence[str] = (),
    ) -> ScanPlan | None:
        entities: list[str] = []
        patterns: dict[str, str] = {}
        keywords: dict[str, list[str]] = {}
        action: dict[str, str] = {}
        owners: dict[str, tuple[ScanGuardrail, ...]] = {}
        for g in guardrails:
            entities += [e for e in g.entities if e not in entities]
            patterns.update(g.patterns)
            keywords.update((name, list(words)) for name, words in g.keywords)
            # An answer has nothing to restore a mask into: on the way back, masking redacts.
            applied = "redact" if response and g.action == "mask" else g.action
            for kind in (*g.entities, *(p for p, _ in g.patterns), *(k for k, _ in g.keywords)):
                owners[kind] = (*owners.get(kind, ()), g)
                if _STRENGTH[applied] > _STRENGTH.get(action.get(kind, "flag"), 0):
                    action[kind] = applied
                action.setdefault(kind, applied)
        if not action:
            return None
        return cls(
            scanner=Scanner(entities, patterns or None, keywords or None, list(admin_tokens)),
            action=action,
            owners=owners,
            redact_kinds=[k for k, a in action.items() if a in ("redact", "block")],
            mask_kinds=[k for k, a in action.items() if a == "mask"],
        )

    def redact(
        self,
        text: str,
        path: Sequence[str | int],
        direction: DirectionName,
        decisions: list[Decision],
    ) -> tuple[str, set[str]]:
        """Scans one text, records and enforces what its detections decide (see `judge`) and
        redacts the kinds to redact; returns the text and the kinds found."""
        matches = self.scanner.scan(text)
        if not matches:
            return text, set()
        self.judge(matches, path_text(path), direction, decisions)
        found = {m.kind for m in matches}
        if any(k in found for k in self.redact_kinds):
            text = self.scanner.redact(text, kinds=self.redact_kinds).text
        return text, found

    def judge(
        self,
        matches: list[Match],
        where: str,
        direction: DirectionName,
        decisions: list[Decision],
    ) -> None:
        """Records what the detections in one text decided, per guardrail; raises
        GuardrailViolation (naming kinds and place, never values) when one blocks."""
        by_guardrail: dict[ScanGuardrail, dict[str, int]] = {}
        for m in matches:
            for g in self.owners[m.kind]:
                counts = by_guardrail.setdefault(g, {})
                counts[m.kind] = counts.get(m.kind, 0) + 1
        blocked = None
        for g, counts in by_guardrail.items():
            applied = max((self.action[k] for k in counts), key=_STRENGTH.__getitem__)
            decisions.append(
                Decision(
                    guardrail=g.name,
                    type=g.type,
                    action=applied,
                    direction=direction,
                    where=where,
                    counts=tuple(sorted(counts.items())),
                )
            )
            if applied == "block" and blocked is None:
                blocked = (g, sorted(k for k in counts if self.action[k] == "block"))
        if blocked is not None:
            g, kinds = blocked
            what = "the request" if direction == "request" else "the provider's answer"
            raise GuardrailViolation(
                f"Palisade: guardrail `{g.name}` blocked {what}: {_WHAT[g.type]} "
                f"({', '.join(kinds)}) in {where}.",
                code=ERROR_CODES[g.type],
            )


@dataclass(frozen=True)
class ProxyGuards:
    proxy: ProxyConfig
    request_scan: ScanPlan | None = None
    response_scan: ScanPlan | None = None
    injection: tuple[InjectionGuardrail, ...] = ()
    tool_policies: tuple[tuple[str, ToolPolicy], ...] = ()
    trust: tuple[tuple[str, TrustPolicy], ...] = ()
    # Anything to do on the way in / on the way back.
    on_request: bool = field(init=False)
    on_answer: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "on_request",
            bool(self.request_scan or self.injection or self.trust or self.tool_policies),
        )
        # A masked request needs its answer un-masked, hence request_scan with mask kinds.
        masks = self.request_scan is not None and bool(self.request_scan.mask_kinds)
        object.__setattr__(
            self, "on_answer", bool(self.response_scan or self.tool_policies or masks)
        )

    @classmethod
    def build(cls, proxy: ProxyConfig, *, admin_tokens: Sequence[str] = ()) -> ProxyGuards:
        """`admin_tokens`: the admin API's tokens (`AdminConfig.tokens`), which a `secrets`
        guardrail finds as the kind `palisade_admin_token`."""
        scans = [g for g in proxy.guardrails if isinstance(g, ScanGuardrail)]
        return cls(
            proxy=proxy,
            request_scan=ScanPlan.build(
                (g for g in scans if g.applies_to("request")),
                response=False,
                admin_tokens=admin_tokens,
            ),
            response_scan=ScanPlan.build(
                (g for g in scans if g.applies_to("response")),
                response=True,
                admin_tokens=admin_tokens,
            ),
            injection=tuple(g for g in proxy.guardrails if isinstance(g, InjectionGuardrail)),
            tool_policies=tuple(
                (g.name, ToolPolicy(g))
                for g in proxy.guardrails
                if isinstance(g, ToolPolicyGuardrail)
            ),
            trust=tuple(
                (g.name, TrustPolicy(g))
                for g in proxy.guardrails
                if isinstance(g, TrustedDataGuardrail)
            ),
        )
