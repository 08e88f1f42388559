"""The cost of the model-downgrade decision in process (`pipeline.downgrade.downgrade`), for a
typical 300-byte chat prompt and a 20 KB one, with one rule (`gpt-4o` -> `gpt-4o-mini`, 500
tokens, complexity 0.35) on OpenAI chat completions; and the hook's cost on a proxy without
rules. Per-call figures from process CPU time, the best of several repeats. A timing script,
not a load test: `python benches/downgrade_cost.py`.
"""

from __future__ import annotations

import time
from typing import Any

from palisade.config import DowngradeRule, ProxyConfig
from palisade.guardrails.policy import ProxyGuards
from palisade.pipeline.context import RequestContext
from palisade.pipeline.downgrade import downgrade
from palisade.providers.openai.surfaces import CHAT

RULE = DowngradeRule(("gpt-4o", "claude-sonnet-*"), "gpt-4o-mini", 500, 0.35)
SHORT = (
    "Could you help me write a short, friendly reply to a colleague who asked whether we can "
    "move tomorrow's meeting from ten to eleven? I am free then, and I would like to thank "
    "her for letting me know early. Please keep it to two or three sentences, in a plain and "
    "warm tone."
)
LONG = "Please summarize these meeting notes. " + (
    "The team reviewed the quarterly figures, agreed on next steps and assigned owners. " * 240
)


def per_call_us(ctx: RequestContext, calls: int, repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(calls):
            downgrade(ctx, "gpt-4o")
        best = min(best, time.process_time() - start)
    return best / calls * 1e6


def hook_us(guards: ProxyGuards, calls: int = 1_000_000) -> float:
    start = time.process_time()
    for _ in range(calls):
        if guards.proxy.downgrade:
            pass
    return (time.process_time() - start) / calls * 1e6


def main() -> None:
    guards = ProxyGuards.build(ProxyConfig(id="p", name="p", downgrade=(RULE,)))
    for name, text, calls in (("300 B", SHORT, 20_000), ("20 KB", LONG, 2_000)):
        body: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
        ctx = RequestContext(surface=CHAT, guards=guards, body=body)
        downgrade(ctx, "gpt-4o")  # the encoder's tables are built on first use
        print(
            f"{name} ({len(text.encode())} bytes): {per_call_us(ctx, calls):.1f} us per decision, "
            f"-> {ctx.body['model']} ({ctx.downgrade_reason or 'not simple'})"
        )
    off = ProxyGuards.build(ProxyConfig(id="p", name="p"))
    print(f"proxy without rules: {hook_us(off) * 1000:.0f} ns for the hook's check")


if __name__ == "__main__":
    main()
