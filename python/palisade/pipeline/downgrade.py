"""Model downgrade: a simple request for an expensive model goes to a cheaper one, by the proxy's
rules (`proxies[].downgrade`); a proxy without rules never gets here.

Simple means: the endpoint generates text (embeddings and token counts would change meaning
with the model), the request is text only (no tools offered or called, no images, audio or
files, no stored conversation: the client's surface says), and its texts, the ones guardrails
read, count at most `max_prompt_tokens` and score at most `max_complexity`. The count and the
score come from one call into the Rust core (`prompt_complexity`), which stops counting past
the largest bound: a long prompt costs the bound, not its length. Rules are tried in order; the
first whose `from` matches the requested model and whose bounds hold sends the request to its
`to`. It runs before routing, so the cheaper model is routed, authorized, limited and priced
like one the client named; the context keeps the requested model and the reason for the record
and the `x-palisade-downgraded-from` header.

Measured in process (`benches/downgrade_cost.py`: one rule, OpenAI chat, the decision alone,
process CPU time on a shared 2-core machine): a 300-byte prompt 8 us (downgraded; counting its
61 tokens is ~6 us of it), a 20 KB one 28 us (counting stops past the rule's 500 tokens and the
score is then skipped; with a bound that lets it through, counting all of it costs ~22 us per
KiB, the score's scan ~3 us per KiB). A proxy without rules pays the hook's check, 20 ns.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache

from palisade._core import prompt_complexity
from palisade.config import DowngradeRule
from palisade.pipeline.context import RequestContext


def downgrade(ctx: RequestContext, model: str) -> str:
    """The model the request goes to: `model`, or the `to` of the first rule that holds (then
    the body names it, and the context says what was asked for and why)."""
    rules, bound = _rules_for(ctx.guards.proxy.downgrade, model)
    if not rules:
        return model
    surface, body = ctx.surface, ctx.body
    if surface.max_output_tokens(body, 1) == 0 or not surface.text_only(body):
        return model
    text = "\n".join([slot.text for slot in surface.request_texts(body)])
    tokens, score = prompt_complexity(text, model, bound)
    if score is None:  # more tokens than any rule allows
        return model
    for rule in rules:
        if tokens <= rule.max_prompt_tokens and score <= rule.max_complexity:
            ctx.downgraded_from = model
            ctx.downgrade_reason = (
                f"simple: {tokens} tokens <= {rule.max_prompt_tokens}, "
                f"complexity {score:.2f} <= {rule.max_complexity:g}"
            )
            surface.set_model(body, rule.to)
            ctx.body_changed = True
            return rule.to
    return model


@lru_cache(maxsize=4096)
def _rules_for(
    rules: tuple[DowngradeRule, ...], model: str
) -> tuple[tuple[DowngradeRule, ...], int]:
    """The rules whose `from` matches `model`, in order, and the largest token bound among
    them (counting goes no further)."""
    matching = tuple(r for r in rules if any(fnmatchcase(model, p) for p in r.models))
    return matching, max((r.max_prompt_tokens for r in matching), default=0)
