"""`guardrails`: named checks on request and response texts, tool calls and tool results.

The file's shape (one mapping per guardrail, told apart by `type`) is validated by the
`*Section` models; proxies then get the frozen run-time types below. A guardrail also comes
from the admin API and the store (`parse_guardrail`, its inverse `guardrail_to_dict`); it is
validated by the same models, without interpolation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from palisade.config.errors import ConfigError, Taint, explain
from palisade.config.fields import SECTION, Flag, Fraction, Text, key, problem

Direction = Literal["request", "response", "both"]
ScanAction = Literal["block", "redact", "mask", "flag"]
ScanType = Literal["pii", "secrets", "rules"]
ConditionOp = Literal["equals", "contains", "starts_with", "ends_with", "regex"]
ToolAction = Literal["allow", "block", "block_when_context_untrusted"]
TrustAction = Literal["trust", "untrust", "block"]
Target = Literal["user", "tool"]


@dataclasses.dataclass(frozen=True)
class ScanGuardrail:
    """`pii`, `secrets` or `rules`: detections in text, and what to do with them."""

    name: str
    type: ScanType
    direction: Direction
    action: ScanAction
    # pii/secrets: built-in kinds; empty means every kind of the category.
    entities: tuple[str, ...] = ()
    # rules: user regexes and keyword lists, by rule name.
    patterns: tuple[tuple[str, str], ...] = ()
    keywords: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def applies_to(self, direction: Literal["request", "response"]) -> bool:
        return self.direction in (direction, "both")


@dataclasses.dataclass(frozen=True)
class InjectionGuardrail:
    name: str
    flag_threshold: float
    block_threshold: float | None = None
    # Which texts are scored: user messages and/or tool results (indirect injection).
    targets: frozenset[Target] = frozenset({"user", "tool"})
    # A tool result that scores at or above flag_threshold makes the context untrusted, even
    # when a trusted_data rule trusts that tool.
    untrusted_tool_results: bool = True


@dataclasses.dataclass(frozen=True)
class Condition:
    op: ConditionOp
    value: str
    # Tool policies: a dot path into the call's JSON arguments (`options.path`); None means
    # the whole arguments text. Trusted data: always None (the tool result's text).
    argument: str | None = None


@dataclasses.dataclass(frozen=True)
class ToolRule:
    name: str
    # A tool name or a shell-style pattern (`fs_*`).
    tool: str
    # All must hold; none means the rule matches on the tool name alone.
    when: tuple[Condition, ...]
    action: str  # ToolAction for tool_policies, TrustAction for trusted_data


@dataclasses.dataclass(frozen=True)
class ToolPolicyGuardrail:
    """Rules on the tool calls in the provider's answer; the first matching rule decides."""

    name: str
    rules: tuple[ToolRule, ...]
    default_action: ToolAction = "allow"


@dataclasses.dataclass(frozen=True)
class TrustedDataGuardrail:
    """Rules on the tool results in the request; the first matching rule decides."""

    name: str
    rules: tuple[ToolRule, ...]
    default_action: TrustAction = "untrust"


Guardrail = ScanGuardrail | InjectionGuardrail | ToolPolicyGuardrail | TrustedDataGuardrail


# The checks below need the Rust scanner; it is imported when a guardrail is validated, not
# when the config package is.
def _known_entity(category: str) -> Any:
    def check(entity: str) -> str:
        from palisade._core import Scanner

        known = Scanner([category]).kinds
        if entity not in known:
            raise problem(
                f"unknown {category} entity {entity!r} (known: {', '.join(known)})",
                f"unknown {category} entity (known: {', '.join(known)})",
            )
        return entity

    return AfterValidator(check)


def _regex(value: str) -> str:
    from palisade._core import Scanner

    try:
        Scanner([], {"condition": value})
    except ValueError as exc:
        raise problem(str(exc), "is not a valid regular expression") from None
    return value


# `files.0.name`: keys and list positions into a tool call's JSON arguments.
ArgumentPath = tuple[tuple[str, int | None], ...]


def parse_argument_path(argument: str) -> ArgumentPath:
    """`files.0.name` -> segments; ValueError for an empty segment (`a..b`, `.a`, ``)."""
    segments = argument.split(".")
    if not all(segments):
        raise ValueError(f"argument path {argument!r} has an empty segment")
    return tuple((s, int(s) if s.isascii() and s.isdigit() else None) for s in segments)


def _argument_path(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_argument_path(value)
        except ValueError as exc:
            raise problem(str(exc), "has an empty segment") from None
    return value


class _Scan(BaseModel):
    model_config = SECTION

    direction: Direction = key("both", "which texts are scanned")
    action: ScanAction = key("redact", "what a detection does")


class PiiSection(_Scan):
    type: Literal["pii"]
    entities: list[Annotated[Text, _known_entity("pii")]] = key(
        [], "built-in kinds to detect; none: every kind"
    )


class SecretsSection(_Scan):
    type: Literal["secrets"]
    entities: list[Annotated[Text, _known_entity("secrets")]] = key(
        [], "built-in kinds to detect; none: every kind"
    )


class RulesSection(_Scan):
    type: Literal["rules"]
    patterns: dict[str, Text] = key({}, "regular expressions by rule name")
    keywords: dict[str, list[Text]] = key({}, "keyword lists by rule name")

    @model_validator(mode="after")
    def _compiles(self) -> RulesSection:
        from palisade._core import Scanner

        if not self.patterns and not self.keywords:
            raise problem("a rules guardrail needs `patterns` or `keywords`")
        clash = set(self.patterns) & set(self.keywords)
        if clash:
            raise problem(f"rule names used twice: {', '.join(sorted(clash))}")
        try:
            Scanner([], dict(self.patterns), {k: list(v) for k, v in self.keywords.items()})
        except ValueError as exc:
            raise problem(str(exc), "a pattern is not a valid regular expression") from None
        return self


class InjectionSection(BaseModel):
    model_config = SECTION

    type: Literal["injection"]
    flag_threshold: Fraction | None = key(None, "score that flags a text", shown="0.5")
    block_threshold: Fraction | None = key(None, "score that blocks the request")
    targets: list[Target] = key(["user", "tool"], "which texts are scored")
    untrusted_tool_results: Flag = key(True, "a flagged tool result makes the context untrusted")

    @field_validator("block_threshold")
    @classmethod
    def _not_below_flag(cls, value: float | None, info: ValidationInfo) -> float | None:
        flag = info.data.get("flag_threshold")
        if value is not None and value < (_default_threshold() if flag is None else flag):
            raise problem("must not be below flag_threshold")
        return value


def _default_threshold() -> float:
    from palisade._core import INJECTION_DEFAULT_THRESHOLD

    return INJECTION_DEFAULT_THRESHOLD


class _Ops(BaseModel):
    """One test on a tool call's arguments or a tool result's text: exactly one operator."""

    model_config = SECTION

    equals: Text | None = None
    contains: Text | None = None
    starts_with: Text | None = None
    ends_with: Text | None = None
    regex: Annotated[Text, AfterValidator(_regex)] | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> _Ops:
        if len(self.ops()) != 1:
            raise problem(f"needs exactly one of {', '.join(_CONDITION_OPS)}")
        return self

    def ops(self) -> list[tuple[ConditionOp, str]]:
        return [(op, v) for op in _CONDITION_OPS if (v := getattr(self, op)) is not None]

    def build(self) -> Condition:
        op, value = self.ops()[0]
        return Condition(op=op, value=value, argument=getattr(self, "argument", None))


_CONDITION_OPS: tuple[ConditionOp, ...] = (
    "equals",
    "contains",
    "starts_with",
    "ends_with",
    "regex",
)


class ArgumentCondition(_Ops):
    argument: Annotated[Text | None, AfterValidator(_argument_path)] = None


class ToolRuleSection(BaseModel):
    model_config = SECTION

    name: Text | None = None
    tool: Text
    when: list[ArgumentCondition] = []
    action: ToolAction


class DataRuleSection(BaseModel):
    model_config = SECTION

    name: Text | None = None
    tool: Text
    when: list[_Ops] = []
    action: TrustAction


class ToolPoliciesSection(BaseModel):
    model_config = SECTION

    type: Literal["tool_policies"]
    rules: list[ToolRuleSection] = []
    default_action: ToolAction = "allow"


class TrustedDataSection(BaseModel):
    model_config = SECTION

    type: Literal["trusted_data"]
    rules: list[DataRuleSection] = []
    default_action: TrustAction = "untrust"


GuardrailSection = Annotated[
    PiiSection
    | SecretsSection
    | RulesSection
    | InjectionSection
    | ToolPoliciesSection
    | TrustedDataSection,
    Field(discriminator="type"),
]


def build_guardrail(name: str, section: BaseModel) -> Guardrail:
    if isinstance(section, PiiSection | SecretsSection):
        from palisade._core import Scanner

        return ScanGuardrail(
            name=name,
            type=section.type,
            direction=section.direction,
            action=section.action,
            entities=tuple(section.entities) or tuple(Scanner([section.type]).kinds),
        )
    if isinstance(section, RulesSection):
        return ScanGuardrail(
            name=name,
            type="rules",
            direction=section.direction,
            action=section.action,
            patterns=tuple(section.patterns.items()),
            keywords=tuple((rule, tuple(words)) for rule, words in section.keywords.items()),
        )
    if isinstance(section, InjectionSection):
        flag = section.flag_threshold
        return InjectionGuardrail(
            name=name,
            flag_threshold=_default_threshold() if flag is None else flag,
            block_threshold=section.block_threshold,
            targets=frozenset(section.targets),
            untrusted_tool_results=section.untrusted_tool_results,
        )
    if isinstance(section, ToolPoliciesSection):
        return ToolPolicyGuardrail(
            name=name, rules=_rules(section.rules), default_action=section.default_action
        )
    assert isinstance(section, TrustedDataSection)
    return TrustedDataGuardrail(
        name=name, rules=_rules(section.rules), default_action=section.default_action
    )


def _rules(rules: Sequence[ToolRuleSection | DataRuleSection]) -> tuple[ToolRule, ...]:
    return tuple(
        ToolRule(
            # An unnamed rule is named after its place in the list.
            name=rule.name if rule.name is not None else f"rules[{i}]",
            tool=rule.tool,
            when=tuple(c.build() for c in rule.when),
            action=rule.action,
        )
        for i, rule in enumerate(rules)
    )


def build_guardrails(sections: Mapping[str, BaseModel]) -> dict[str, Guardrail]:
    return {name: build_guardrail(name, section) for name, section in sections.items()}


_GUARDRAIL: TypeAdapter[BaseModel] = TypeAdapter(GuardrailSection)


def parse_guardrail(raw: Mapping[str, Any], *, source: str) -> Guardrail:
    """One guardrail definition outside the file (the admin API, the store): `name` and the
    keys its section has in the file; the errors are the file's, with the key path."""
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError.of(source, [("name", "is required (a non-empty string)")])
    settings = {k: v for k, v in raw.items() if k not in ("name", "version")}
    try:
        section = _GUARDRAIL.validate_python(settings)
    except ValidationError as exc:
        raise ConfigError.of(source, explain(exc, GuardrailSection, Taint())) from None
    return build_guardrail(name, section)


def guardrail_to_dict(guardrail: Guardrail) -> dict[str, Any]:
    """The inverse of parse_guardrail, as the admin API and the store hold it. What the file
    may leave out to mean "the default" (every entity kind, the default injection threshold, a
    rule's name after its place) is left out here too, so a later default still applies."""
    g = guardrail
    if isinstance(g, ScanGuardrail):
        out: dict[str, Any] = {
            "name": g.name,
            "type": g.type,
            "direction": g.direction,
            "action": g.action,
        }
        if g.type == "rules":
            out["patterns"] = dict(g.patterns)
            out["keywords"] = {rule: list(words) for rule, words in g.keywords}
        else:
            from palisade._core import Scanner

            every = tuple(Scanner([g.type]).kinds)
            out["entities"] = [] if g.entities == every else list(g.entities)
        return out
    if isinstance(g, InjectionGuardrail):
        return {
            "name": g.name,
            "type": "injection",
            "flag_threshold": (
                None if g.flag_threshold == _default_threshold() else g.flag_threshold
            ),
            "block_threshold": g.block_threshold,
            "targets": sorted(g.targets),
            "untrusted_tool_results": g.untrusted_tool_results,
        }
    kind = "tool_policies" if isinstance(g, ToolPolicyGuardrail) else "trusted_data"
    rules = []
    for i, rule in enumerate(g.rules):
        item: dict[str, Any] = {} if rule.name == f"rules[{i}]" else {"name": rule.name}
        item["tool"] = rule.tool
        if rule.when:
            item["when"] = [_condition(c) for c in rule.when]
        item["action"] = rule.action
        rules.append(item)
    return {"name": g.name, "type": kind, "rules": rules, "default_action": g.default_action}


def _condition(c: Condition) -> dict[str, Any]:
    return {c.op: c.value} if c.argument is None else {c.op: c.value, "argument": c.argument}
