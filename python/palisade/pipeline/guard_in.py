"""Stage 4: the request's texts against the proxy's guardrails, before anything leaves.

Tool results go first through the trusted-data rules (a blocked one is replaced by a notice, an
untrusted one marks the context), then every text is scored for injection where configured and
scanned once for all `pii`, `secrets` and `rules` guardrails: a block ends the request with a 400,
redactions and masks rewrite the text in place.
"""

from __future__ import annotations

from palisade._core import score_injection
from palisade.errors import GuardrailViolation
from palisade.guardrails.decisions import Decision, path_text
from palisade.guardrails.policy import ERROR_CODES, ProxyGuards, ScanPlan
from palisade.pipeline.context import RequestContext
from palisade.providers.base import Slot

_TRUST_STRENGTH = {"trust": 0, "untrust": 1, "block": 2}


def guard_request(ctx: RequestContext) -> None:
    guards = ctx.guards
    plan = guards.request_scan
    injection = guards.injection
    for slot in ctx.surface.request_texts(ctx.body):
        role = slot.role
        if role == "tool":
            _trust(ctx, guards, slot)
        if injection and (role == "user" or role == "tool"):
            _injection(ctx, guards, slot)
        if plan is not None:
            _scan(ctx, plan, slot)


def _trust(ctx: RequestContext, guards: ProxyGuards, slot: Slot) -> None:
    if not guards.trust:
        ctx.context_untrusted = True  # nothing vouches for any tool result
        return
    text = slot.text
    worst = None
    for name, policy in guards.trust:
        verdict = policy.check(slot.tool, text)
        ctx.decisions.append(
            Decision(
                guardrail=name,
                type="trusted_data",
                action=verdict.action,
                direction="request",
                where=path_text(slot.path),
                rule=verdict.rule,
            )
        )
        if worst is None or _TRUST_STRENGTH[verdict.action] > _TRUST_STRENGTH[worst[1].action]:
            worst = (name, verdict)
    assert worst is not None
    name, verdict = worst
    if verdict.action != "trust":
        ctx.context_untrusted = True
    if verdict.action == "block":
        tool = f"`{slot.tool}`" if slot.tool else "a tool"
        slot.container[slot.key] = (
            f"[Palisade blocked this result of {tool}: guardrail `{name}`, "
            f"rule `{verdict.rule or 'default'}`: {verdict.reason}]"
        )
        ctx.body_changed = True


def _injection(ctx: RequestContext, guards: ProxyGuards, slot: Slot) -> None:
    text = slot.text
    result = None
    for g in guards.injection:
        if slot.role not in g.targets:
            continue
        if result is None:
            result = score_injection(text)
        score = result.score
        if score < g.flag_threshold:
            continue
        block = g.block_threshold is not None and score >= g.block_threshold
        where = path_text(slot.path)
        ctx.decisions.append(
            Decision(
                guardrail=g.name,
                type="injection",
                action="block" if block else "flag",
                direction="request",
                where=where,
                counts=tuple((s, 1) for s in result.signals),
                score=score,
            )
        )
        if slot.role == "tool" and g.untrusted_tool_results:
            ctx.context_untrusted = True
        if block:
            raise GuardrailViolation(
                f"Palisade: guardrail `{g.name}` blocked the request: likely prompt injection "
                f"in {where} (score {score:.2f}).",
                code=ERROR_CODES["injection"],
            )


def _scan(ctx: RequestContext, plan: ScanPlan, slot: Slot) -> None:
    original = slot.text
    text, found = plan.redact(original, slot.path, "request", ctx.decisions)
    if not found:
        return
    if any(k in found for k in plan.mask_kinds):
        if ctx.masker is None:
            ctx.masker = plan.scanner.masker(plan.mask_kinds)
        text = ctx.masker.mask(text).text
    if text is not original:
        slot.container[slot.key] = text
        ctx.body_changed = True
