"""Tool-call policies and trusted-data rules: pure decisions, no I/O.

Each policy evaluates its rules in order; the first rule whose `tool` matches (an exact name or
a shell-style pattern, `fnmatch.fnmatchcase` semantics, case-sensitive) and whose conditions all
hold decides; when none does, the policy's `default_action` applies. Conditions are described
in `palisade.guardrails.conditions`.

A verdict's `reason` names the tool, the rule and what held ("argument `command` contains the
configured value"), never an argument's value nor a configured value: the reason reaches the
client and the agent, and must neither teach an attacker the pattern nor echo a secret.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast, final

from palisade.config import (
    ToolAction,
    ToolPolicyGuardrail,
    ToolRule,
    TrustAction,
    TrustedDataGuardrail,
)
from palisade.guardrails.conditions import Arguments, Matcher

_TOOL_ACTIONS: Final = frozenset({"allow", "block", "block_when_context_untrusted"})
_TRUST_ACTIONS: Final = frozenset({"trust", "untrust", "block"})


@dataclass(frozen=True, slots=True)
class ToolVerdict:
    allowed: bool
    # The deciding rule's name; None when the default action decided.
    rule: str | None
    # The configured action that decided (`block_when_context_untrusted` may allow).
    action: ToolAction
    reason: str


@dataclass(frozen=True, slots=True)
class TrustVerdict:
    action: TrustAction
    rule: str | None
    reason: str


@final
class _Rule:
    __slots__ = ("action", "conditions", "name", "tool", "tool_matches", "what")

    def __init__(self, rule: ToolRule, *, subject: str, arguments: bool) -> None:
        self.name = rule.name
        self.tool = rule.tool
        self.action = rule.action
        if not arguments and any(c.argument is not None for c in rule.when):
            raise ValueError(f"rule {rule.name!r}: trusted-data conditions take no argument")
        self.tool_matches = _tool_matcher(rule.tool)
        self.conditions = tuple(Matcher(c) for c in rule.when)
        self.what = (
            ": " + " and ".join(m.describe(subject) for m in self.conditions)
            if self.conditions
            else " by name"
        )


def _tool_matcher(tool: str) -> Callable[[str], bool]:
    # Without `*?[` a pattern is a plain name: `==` is all fnmatch would do, only slower.
    if not any(c in tool for c in "*?["):
        return tool.__eq__
    # fnmatch's translation cannot backtrack catastrophically (it emulates atomic groups).
    match = re.compile(fnmatch.translate(tool)).match
    return lambda name: match(name) is not None


@final
class ToolPolicy:
    """A `tool_policies` guardrail, compiled. Immutable; share it across requests.

    When several tool policies apply to one call (several guardrails on a proxy), the caller
    combines them: a block from any of them wins.
    """

    __slots__ = ("_rules", "config")

    def __init__(self, config: ToolPolicyGuardrail) -> None:
        """ValueError for an unknown action, an invalid regex or argument path."""
        self.config = config
        for action in (config.default_action, *(r.action for r in config.rules)):
            if action not in _TOOL_ACTIONS:
                raise ValueError(f"tool policy {config.name!r}: unknown action {action!r}")
        self._rules = tuple(
            _Rule(r, subject="the arguments text", arguments=True) for r in config.rules
        )

    def check(self, name: str, arguments: str, *, context_untrusted: bool) -> ToolVerdict:
        """Decides on one tool call; `arguments` is its JSON arguments text, parsed at most
        once and only when a matching rule looks into it. `context_untrusted`: an untrusted
        tool result entered the conversation."""
        args: Arguments | None = None
        for rule in self._rules:
            if not rule.tool_matches(name):
                continue
            if rule.conditions:
                if args is None:
                    args = Arguments(arguments)
                if not all(m.holds(args) for m in rule.conditions):
                    continue
            return _tool_verdict(
                rule.name,
                cast(ToolAction, rule.action),
                f"tool `{name}` matched rule `{rule.name}`{rule.what}",
                context_untrusted,
            )
        return _tool_verdict(
            None,
            self.config.default_action,
            f"no rule matched tool `{name}`, default action `{self.config.default_action}`",
            context_untrusted,
        )


def _tool_verdict(
    rule: str | None, action: ToolAction, reason: str, context_untrusted: bool
) -> ToolVerdict:
    if action == "allow":
        return ToolVerdict(True, rule, action, reason)
    if action == "block":
        return ToolVerdict(False, rule, action, reason)
    if context_untrusted:
        return ToolVerdict(
            False, rule, action, f"{reason}, and an untrusted tool result is in the context"
        )
    return ToolVerdict(True, rule, action, f"{reason}; allowed: the context is trusted")


@final
class TrustPolicy:
    """A `trusted_data` guardrail, compiled. Immutable; share it across requests.

    When several trusted-data policies judge one tool result, the caller combines them: a block
    from any of them wins (and any untrust beats trust).
    """

    __slots__ = ("_rules", "_wildcard", "config")

    def __init__(self, config: TrustedDataGuardrail) -> None:
        """ValueError for an unknown action, an invalid regex, or a condition with an
        argument (tool results are matched as a whole)."""
        self.config = config
        for action in (config.default_action, *(r.action for r in config.rules)):
            if action not in _TRUST_ACTIONS:
                raise ValueError(f"trusted-data policy {config.name!r}: unknown action {action!r}")
        self._rules = tuple(_Rule(r, subject="the result", arguments=False) for r in config.rules)
        # A result whose tool is unknown can only match rules for every tool.
        self._wildcard = tuple(r for r in self._rules if r.tool == "*")

    def check(self, tool_name: str | None, content: str) -> TrustVerdict:
        """Decides on one tool result. `tool_name` None: the request does not say which tool
        produced it; then only rules whose `tool` is `*` apply."""
        rules = self._rules if tool_name is not None else self._wildcard
        for rule in rules:
            if tool_name is not None and not rule.tool_matches(tool_name):
                continue
            if not all(m.test(content) for m in rule.conditions):
                continue
            return TrustVerdict(
                cast(TrustAction, rule.action),
                rule.name,
                f"result of {_tool_text(tool_name)} matched rule `{rule.name}`{rule.what}",
            )
        default = self.config.default_action
        return TrustVerdict(
            default,
            None,
            f"no rule matched the result of {_tool_text(tool_name)}, default action `{default}`",
        )


def _tool_text(tool_name: str | None) -> str:
    return "an unnamed tool" if tool_name is None else f"`{tool_name}`"
