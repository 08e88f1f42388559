import dataclasses
from typing import Any

import orjson
import pytest
import yaml

from palisade.config import (
    Condition,
    ConfigError,
    ToolPolicyGuardrail,
    ToolRule,
    TrustedDataGuardrail,
    parse_config,
)
from palisade.guardrails.tools import ToolPolicy, ToolVerdict, TrustPolicy, TrustVerdict
from tests.helpers.spec_config import SPEC_GUARDRAILS

SPEC = SPEC_GUARDRAILS


def from_yaml(text: str) -> dict[str, Any]:
    config = parse_config(yaml.safe_load(text), source="t.yaml", env={})
    return dict(config.guardrails)


def tool_policy(rules: list[dict[str, Any]], default: str = "allow") -> ToolPolicy:
    raw = {"g": {"type": "tool_policies", "default_action": default, "rules": rules}}
    config = parse_config({"guardrails": raw}, source="t.yaml", env={})
    guardrail = config.guardrails["g"]
    assert isinstance(guardrail, ToolPolicyGuardrail)
    return ToolPolicy(guardrail)


def trust_policy(rules: list[dict[str, Any]], default: str = "untrust") -> TrustPolicy:
    raw = {"g": {"type": "trusted_data", "default_action": default, "rules": rules}}
    config = parse_config({"guardrails": raw}, source="t.yaml", env={})
    guardrail = config.guardrails["g"]
    assert isinstance(guardrail, TrustedDataGuardrail)
    return TrustPolicy(guardrail)


def args(**kwargs: object) -> str:
    return orjson.dumps(kwargs).decode()


def test_the_spec_example_end_to_end() -> None:
    guardrails = from_yaml(SPEC)
    tools = ToolPolicy(guardrails["tools"])
    trust = TrustPolicy(guardrails["trust"])

    blocked = tools.check("run_shell", args(command="rm -rf /"), context_untrusted=False)
    assert blocked == ToolVerdict(
        allowed=False,
        rule="no-rm",
        action="block",
        reason="tool `run_shell` matched rule `no-rm`: argument `command` contains the "
        "configured value",
    )
    ok = tools.check("run_shell", args(command="ls"), context_untrusted=True)
    assert (ok.allowed, ok.rule, ok.action) == (True, None, "allow")
    assert not tools.check("send_email", "{}", context_untrusted=True).allowed
    assert tools.check("send_email", "{}", context_untrusted=False).allowed

    assert trust.check("get_weather", "sunny") == TrustVerdict(
        action="trust",
        rule="weather-ok",
        reason="result of `get_weather` matched rule `weather-ok` by name",
    )
    key = "-----BEGIN PRIVATE KEY-----\nMIIE..."
    assert trust.check("read_file", key).action == "block"
    assert trust.check(None, key).action == "block"
    assert trust.check("read_file", "hello").action == "untrust"
    # Rule order: weather-ok comes first, so even a key in the weather result is trusted.
    assert trust.check("get_weather", key).rule == "weather-ok"


def test_policies_built_directly_match_policies_built_from_the_config() -> None:
    direct = ToolPolicy(
        ToolPolicyGuardrail(
            name="tools",
            rules=(
                ToolRule(
                    "no-rm", "run_shell", (Condition("contains", "rm -rf", "command"),), "block"
                ),
                ToolRule("mail-guard", "send_*", (), "block_when_context_untrusted"),
            ),
        )
    )
    parsed = ToolPolicy(from_yaml(SPEC)["tools"])
    assert direct.config.rules == parsed.config.rules
    for name, arguments in [("run_shell", args(command="rm -rf ~")), ("send_x", "{}"), ("ls", "")]:
        for untrusted in (False, True):
            assert direct.check(name, arguments, context_untrusted=untrusted) == parsed.check(
                name, arguments, context_untrusted=untrusted
            )


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("run_shell", "run_shell", True),
        ("run_shell", "run_shell2", False),
        ("run_shell", "Run_Shell", False),
        ("send_*", "send_email", True),
        ("send_*", "send_", True),
        ("send_*", "resend_email", False),
        ("send_*", "SEND_EMAIL", False),
        ("*", "anything", True),
        ("*", "", True),
        ("fs_?", "fs_r", True),
        ("fs_?", "fs_rw", False),
        ("[ab]_tool", "a_tool", True),
        ("[ab]_tool", "c_tool", False),
        ("[!ab]_tool", "c_tool", True),
        ("*_*_*_*_*_x", "a" * 2000, False),
        ("mcp.*.read", "mcp.files.read", True),
        ("mcp.*.read", "mcp-files-read", False),
    ],
)
def test_tool_names_and_shell_style_patterns(pattern: str, name: str, expected: bool) -> None:
    policy = tool_policy([{"name": "r", "tool": pattern, "action": "block"}])
    verdict = policy.check(name, "{}", context_untrusted=False)
    assert verdict.allowed is not expected
    assert verdict.rule == ("r" if expected else None)


def test_the_first_matching_rule_decides() -> None:
    policy = tool_policy(
        [
            {
                "name": "allow-tmp",
                "tool": "fs_*",
                "when": [{"argument": "path", "starts_with": "/tmp/"}],
                "action": "allow",
            },
            {"name": "no-fs", "tool": "fs_*", "action": "block"},
            {"name": "never-reached", "tool": "fs_write", "action": "allow"},
        ],
        default="block",
    )
    assert (
        policy.check("fs_write", args(path="/tmp/a"), context_untrusted=False).rule == "allow-tmp"
    )
    # The first rule's condition fails: evaluation falls through to the next rule.
    verdict = policy.check("fs_write", args(path="/etc/a"), context_untrusted=False)
    assert (verdict.allowed, verdict.rule) == (False, "no-fs")
    verdict = policy.check("other", args(path="/tmp/a"), context_untrusted=False)
    assert (verdict.allowed, verdict.rule, verdict.action) == (False, None, "block")


def test_all_conditions_of_a_rule_must_hold() -> None:
    policy = tool_policy(
        [
            {
                "name": "big-transfer",
                "tool": "transfer",
                "when": [
                    {"argument": "currency", "equals": "EUR"},
                    {"argument": "amount", "regex": r"^\d{5,}$"},
                    {"argument": "to.iban", "starts_with": "XX"},
                ],
                "action": "block",
            }
        ]
    )

    def allowed(**call: object) -> bool:
        return policy.check("transfer", args(**call), context_untrusted=False).allowed

    assert not allowed(currency="EUR", amount=100000, to={"iban": "XX12"})
    assert allowed(currency="USD", amount=100000, to={"iban": "XX12"})
    assert allowed(currency="EUR", amount=9999, to={"iban": "XX12"})
    assert allowed(currency="EUR", amount=100000, to={"iban": "DE12"})
    assert allowed(currency="EUR", amount=100000)


@pytest.mark.parametrize(
    ("default", "untrusted", "allowed"),
    [
        ("allow", False, True),
        ("allow", True, True),
        ("block", False, False),
        ("block", True, False),
        ("block_when_context_untrusted", False, True),
        ("block_when_context_untrusted", True, False),
    ],
)
def test_default_actions(default: str, untrusted: bool, allowed: bool) -> None:
    policy = tool_policy([{"name": "r", "tool": "other", "action": "allow"}], default=default)
    verdict = policy.check("unlisted", "{}", context_untrusted=untrusted)
    assert (verdict.allowed, verdict.rule, verdict.action) == (allowed, None, default)
    assert "`unlisted`" in verdict.reason
    assert default in verdict.reason


def test_block_when_context_untrusted_rule_both_ways() -> None:
    policy = tool_policy(
        [
            {
                "name": "exfil",
                "tool": "http_*",
                "when": [{"argument": "url", "regex": "^https?://"}],
                "action": "block_when_context_untrusted",
            }
        ],
        default="block",
    )
    call = args(url="https://example.test/upload")
    trusted = policy.check("http_post", call, context_untrusted=False)
    assert (trusted.allowed, trusted.rule, trusted.action) == (
        True,
        "exfil",
        "block_when_context_untrusted",
    )
    assert "trusted" in trusted.reason
    untrusted = policy.check("http_post", call, context_untrusted=True)
    assert (untrusted.allowed, untrusted.rule) == (False, "exfil")
    assert "untrusted tool result" in untrusted.reason
    # The condition fails: the default (block) decides whatever the context.
    assert not policy.check("http_post", args(url="file:///x"), context_untrusted=False).allowed


def test_arguments_are_parsed_once_per_call_and_only_when_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[str] = []
    loads = orjson.loads

    def counting_loads(text: str) -> Any:
        parsed.append(text)
        return loads(text)

    monkeypatch.setattr(orjson, "loads", counting_loads)
    policy = tool_policy(
        [
            {
                "name": "a",
                "tool": "t",
                "when": [{"argument": "x", "equals": "1"}],
                "action": "block",
            },
            {
                "name": "b",
                "tool": "t",
                "when": [{"argument": "y", "equals": "1"}],
                "action": "block",
            },
            {
                "name": "c",
                "tool": "t",
                "when": [{"argument": "z", "equals": "1"}, {"argument": "x", "equals": "0"}],
                "action": "block",
            },
            {"name": "d", "tool": "u", "action": "block"},
            {"name": "e", "tool": "v", "when": [{"contains": "1"}], "action": "block"},
        ]
    )
    assert policy.check("t", args(x="0", z="1"), context_untrusted=False).rule == "c"
    assert len(parsed) == 1
    assert policy.check("t", args(x="2"), context_untrusted=False).rule is None
    assert len(parsed) == 2
    # No argument condition on the way to the decision: no parsing at all.
    assert policy.check("u", args(x="1"), context_untrusted=False).rule == "d"
    assert policy.check("v", args(x="1"), context_untrusted=False).rule == "e"
    assert policy.check("w", args(x="1"), context_untrusted=False).rule is None
    assert len(parsed) == 2


def test_unparsable_arguments_skip_argument_rules_but_not_whole_text_rules() -> None:
    policy = tool_policy(
        [
            {
                "name": "by-arg",
                "tool": "sh",
                "when": [{"argument": "cmd", "contains": "rm"}],
                "action": "block",
            },
            {
                "name": "by-text",
                "tool": "sh",
                "when": [{"contains": "shutdown"}],
                "action": "block",
            },
        ]
    )
    assert policy.check("sh", '{"cmd": "rm -rf /"', context_untrusted=False).allowed
    verdict = policy.check("sh", "shutdown now", context_untrusted=False)
    assert (verdict.allowed, verdict.rule) == (False, "by-text")
    assert verdict.reason.endswith("the arguments text contains the configured value")


SECRET = "hunter2-SECRET-value"


@pytest.mark.parametrize("op", ["equals", "contains", "starts_with", "ends_with", "regex"])
@pytest.mark.parametrize("argument", ["password", None])
@pytest.mark.parametrize("untrusted", [False, True])
def test_tool_reasons_never_echo_values(op: str, argument: str | None, untrusted: bool) -> None:
    condition: dict[str, str] = {op: SECRET}
    if argument is not None:
        condition["argument"] = argument
    policy = tool_policy(
        [
            {"name": "guard", "tool": "login", "when": [condition], "action": "block"},
            {"name": "ctx", "tool": "login", "action": "block_when_context_untrusted"},
        ]
    )
    for call in (args(password=SECRET), args(password="nope-" + SECRET + "-x"), SECRET):
        verdict = policy.check("login", call, context_untrusted=untrusted)
        assert "hunter2" not in verdict.reason
        assert "`login`" in verdict.reason
        assert verdict.rule is None or f"`{verdict.rule}`" in verdict.reason
    call = args(password=SECRET) if argument else SECRET
    blocked = policy.check("login", call, context_untrusted=False)
    assert (blocked.allowed, blocked.rule) == (False, "guard")
    verb = "matches the configured pattern" if op == "regex" else op.replace("_", " ")
    subject = "argument `password`" if argument else "the arguments text"
    assert f"{subject} {verb}" in blocked.reason


@pytest.mark.parametrize("op", ["equals", "contains", "starts_with", "ends_with", "regex"])
def test_trust_reasons_never_echo_values(op: str) -> None:
    policy = trust_policy(
        [{"name": "no-secret", "tool": "*", "when": [{op: SECRET}], "action": "block"}]
    )
    for tool in ("reader", None):
        verdict = policy.check(tool, SECRET)
        assert (verdict.action, verdict.rule) == ("block", "no-secret")
        assert "hunter2" not in verdict.reason
        assert "`no-secret`" in verdict.reason
        assert "the result" in verdict.reason
        fallback = policy.check(tool, "harmless")
        assert (fallback.action, fallback.rule) == ("untrust", None)
        assert "hunter2" not in fallback.reason


def test_an_unnamed_tool_result_matches_only_star_rules() -> None:
    policy = trust_policy(
        [
            {"name": "exact", "tool": "get_weather", "action": "trust"},
            {"name": "prefix", "tool": "get_*", "action": "trust"},
            {"name": "any-char", "tool": "?*", "action": "trust"},
            {"name": "star-cond", "tool": "*", "when": [{"equals": "block me"}], "action": "block"},
            {"name": "star", "tool": "*", "action": "untrust"},
        ],
        default="trust",
    )
    assert policy.check(None, "block me").rule == "star-cond"
    unnamed = policy.check(None, "sunny")
    assert (unnamed.action, unnamed.rule) == ("untrust", "star")
    assert "an unnamed tool" in unnamed.reason
    assert policy.check("get_weather", "sunny").rule == "exact"
    assert policy.check("get_time", "noon").rule == "prefix"
    assert policy.check("x", "y").rule == "any-char"


@pytest.mark.parametrize("default", ["trust", "untrust", "block"])
def test_trust_default_actions(default: str) -> None:
    policy = trust_policy([{"name": "r", "tool": "known", "action": "trust"}], default=default)
    for tool in ("unknown", None):
        verdict = policy.check(tool, "data")
        assert (verdict.action, verdict.rule) == (default, None)
        assert f"`{default}`" in verdict.reason


def test_trust_rules_by_content_in_order() -> None:
    policy = trust_policy(
        [
            {
                "name": "keys",
                "tool": "*",
                "when": [{"regex": "-----BEGIN [A-Z ]*PRIVATE KEY-----"}],
                "action": "block",
            },
            {
                "name": "internal",
                "tool": "db_*",
                "when": [{"starts_with": "{"}, {"ends_with": "}"}],
                "action": "trust",
            },
            {"name": "db", "tool": "db_*", "action": "untrust"},
        ]
    )
    assert policy.check("db_query", "-----BEGIN RSA PRIVATE KEY-----").rule == "keys"
    assert policy.check("db_query", '{"rows": []}').action == "trust"
    assert policy.check("db_query", '{"rows": [] ').rule == "db"
    assert policy.check("db_query", "rows").action == "untrust"


def test_trusted_data_conditions_take_no_argument() -> None:
    with pytest.raises(
        ConfigError, match=r"guardrails.g.rules\[0\].when\[0\].argument: unknown key"
    ):
        trust_policy([{"tool": "*", "when": [{"argument": "a", "equals": "x"}], "action": "block"}])
    rule = ToolRule("r", "*", (Condition("equals", "x", "a"),), "block")
    with pytest.raises(ValueError, match="take no argument"):
        TrustPolicy(TrustedDataGuardrail(name="t", rules=(rule,)))


def test_unknown_actions_are_rejected_when_built_directly() -> None:
    with pytest.raises(ValueError, match="unknown action 'trust'"):
        ToolPolicy(ToolPolicyGuardrail(name="t", rules=(ToolRule("r", "x", (), "trust"),)))
    with pytest.raises(ValueError, match="unknown action 'allow'"):
        TrustPolicy(TrustedDataGuardrail(name="t", rules=(ToolRule("r", "x", (), "allow"),)))


def test_verdicts_are_immutable() -> None:
    verdict = tool_policy([]).check("x", "{}", context_untrusted=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.allowed = False  # type: ignore[misc]
    trust = trust_policy([]).check("x", "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        trust.action = "block"  # type: ignore[misc]
