"""Stage 7: the provider's answer against the proxy's guardrails, before the client sees it.

Texts are scanned (a block replaces the answer with a guardrail error), redacted, and un-masked
(placeholders the request stage put in become the client's own values again); tool calls are
checked against the tool policies, and a blocked call becomes assistant text that says so. Where
the texts and calls are is the client's surface's business (`providers/`); what is done to them
is decided here, once for every dialect.

Streams go through the surface's stream transform, which hands each text delta to `AnswerGuard`:
a streaming redactor holds back only the tail that could still complete a match, so nothing a
`block` rule would catch reaches the client before the decision. Tool calls are held until they
are complete, since a policy can only judge whole arguments; text is never held longer than the
redactor needs.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade._core import StreamRedactor, Unmasker
from palisade.errors import GuardrailViolation
from palisade.guardrails.decisions import Decision, path_text
from palisade.pipeline.context import RequestContext
from palisade.providers.base import Path


def guard_answer(ctx: RequestContext, body: bytes, obj: dict[str, Any]) -> bytes:
    """A whole (non-stream) answer, `body` parsed as `obj` (changed in place); returns the
    bytes for the client."""
    plan, masker = ctx.guards.response_scan, ctx.masker
    surface = ctx.surface
    changed = False
    for slot in surface.answer_texts(obj):
        text = original = slot.text
        if plan is not None:
            text, _ = plan.redact(text, slot.path, "response", ctx.decisions)
        if masker is not None:
            text = masker.unmask(text)
        if text != original:
            slot.container[slot.key] = text
            changed = True
    if ctx.guards.tool_policies:
        blocked = [
            (call, reason)
            for call in surface.answer_tool_calls(obj)
            if (reason := check_tool_call(ctx, call.name, call.arguments, path_text(call.path)))
        ]
        if blocked:
            surface.replace_blocked(obj, blocked)
            changed = True
    return orjson.dumps(obj) if changed else body


def check_tool_call(ctx: RequestContext, name: str, arguments: str, where: str) -> str | None:
    """None when every tool policy allows the call, else the notice that replaces it."""
    notice = None
    for guardrail, policy in ctx.guards.tool_policies:
        verdict = policy.check(name, arguments, context_untrusted=ctx.context_untrusted)
        ctx.decisions.append(
            Decision(
                guardrail=guardrail,
                type="tool_policies",
                action=verdict.action if not verdict.allowed else "allow",
                direction="response",
                where=where,
                rule=verdict.rule,
            )
        )
        if not verdict.allowed and notice is None:
            notice = (
                f"Palisade blocked the tool call `{name}`: guardrail `{guardrail}`, "
                f"rule `{verdict.rule or 'default'}`: {verdict.reason}"
            )
    return notice


# --- streams ---------------------------------------------------------------------------------


class _Text:
    """One streamed text (a choice's content, a content block): redactor, then un-masker."""

    __slots__ = ("redactor", "unmasker", "where")

    def __init__(self, redactor: StreamRedactor | None, unmasker: Unmasker | None, where: str):
        self.redactor = redactor
        self.unmasker = unmasker
        self.where = where


class StreamBlocked(Exception):
    """A response guardrail blocked the stream; `error` is the event that ends it."""

    def __init__(self, error: GuardrailViolation) -> None:
        super().__init__(error.message)
        self.error = error


class StreamGuard:
    """The response guardrails of one streamed answer (`providers.base.AnswerGuard`)."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.plan = ctx.guards.response_scan
        self.texts: dict[tuple[int, int], _Text] = {}
        self.holds_calls = bool(ctx.guards.tool_policies or self.plan or ctx.masker)
        self.checks_calls = bool(ctx.guards.tool_policies)

    def feed(self, key: tuple[int, int], text: str, where: str) -> str:
        held = self.texts.get(key)
        if held is None:
            redactor = self.plan.scanner.stream(kinds=self.plan.redact_kinds) if self.plan else None
            masker = self.ctx.masker
            held = _Text(redactor, masker.unmask_stream() if masker else None, where)
            self.texts[key] = held
        out = text
        if held.redactor is not None:
            out = held.redactor.feed(out)
            self._check(held)
        if held.unmasker is not None:
            out = held.unmasker.feed(out)
        return out

    def flush(self, key: tuple[int, int]) -> str:
        held = self.texts.pop(key, None)
        if held is None:
            return ""
        out = ""
        if held.redactor is not None:
            out = held.redactor.finish()
            self._check(held)
        if held.unmasker is not None:
            out = held.unmasker.feed(out) + held.unmasker.finish()
        return out

    def arguments(self, arguments: str, path: Path) -> str:
        if self.plan is not None:
            arguments, _ = self.plan.redact(arguments, path, "response", self.ctx.decisions)
        if self.ctx.masker is not None:
            arguments = self.ctx.masker.unmask(arguments)
        return arguments

    def whole(self, text: str) -> str:
        """A stream redactor's output equals a whole-text redaction, so a repeated text comes
        out as its deltas did."""
        if self.plan is not None and self.plan.redact_kinds:
            text = self.plan.scanner.redact(text, kinds=self.plan.redact_kinds).text
        if self.ctx.masker is not None:
            text = self.ctx.masker.unmask(text)
        return text

    def tool_call(self, name: str, arguments: str, where: str) -> str | None:
        return check_tool_call(self.ctx, name, arguments, where)

    def finish(self) -> None:
        """End of stream: whatever text is still held. A stream that ends without closing its
        texts has no place left for it, so it is dropped rather than sent unchecked."""
        for held in self.texts.values():
            if held.redactor is not None:
                held.redactor.finish()
                self._check(held)

    def _check(self, held: _Text) -> None:
        assert held.redactor is not None
        assert self.plan is not None
        matches = held.redactor.take_matches()
        if matches:
            try:
                self.plan.judge(matches, held.where, "response", self.ctx.decisions)
            except GuardrailViolation as exc:
                raise StreamBlocked(exc) from None
