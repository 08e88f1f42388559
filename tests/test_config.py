from pathlib import Path

import pytest
import yaml

from palisade.config import (
    AUTO_PROVIDER_PRIORITY,
    Condition,
    Config,
    ConfigError,
    InjectionGuardrail,
    ScanGuardrail,
    ToolPolicyGuardrail,
    ToolRule,
    TrustedDataGuardrail,
    load_config,
    parse_config,
    parse_proxy,
    proxy_id,
    proxy_to_dict,
)


def parse(raw: object, env: dict[str, str] | None = None) -> object:
    return parse_config(raw, source="t.yaml", env=env or {})


def test_defaults_for_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("")
    config = load_config(path, env={})
    assert config.server.port == 8080
    assert config.firewall.max_body_bytes == 4 * 1024 * 1024
    assert config.providers == ()


def test_the_repository_default_config_loads_offline() -> None:
    config = load_config(Path(__file__).parents[1] / "palisade.yaml", env={})
    found = {p.name: (p.kind, p.base_url, p.auth_header) for p in config.providers}
    assert found == {
        "mock": ("openai", "http://127.0.0.1:9100/v1", "authorization"),
        "mock-anthropic": ("anthropic", "http://127.0.0.1:9100/v1", "x-api-key"),
        # Cohere's paths start with /v2, Gemini's with its version.
        "mock-cohere": ("cohere", "http://127.0.0.1:9100", "authorization"),
        "mock-gemini": ("gemini", "http://127.0.0.1:9100/v1beta", "x-goog-api-key"),
        "mock-azure": ("azure", "http://127.0.0.1:9100/v1", "api-key"),
        # Signed with SigV4 by the mock's test credentials, not a key in a header.
        "mock-bedrock": ("bedrock", "http://127.0.0.1:9100/v1", "authorization"),
    }


def test_env_interpolation_with_defaults_and_escapes() -> None:
    config = parse_config(
        {
            "server": {"host": "${HOST:-0.0.0.0}", "port": "${PORT}"},
            "providers": {"p": {"base_url": "http://x/$${literal}", "api_key": "${KEY}"}},
        },
        source="t.yaml",
        env={"PORT": "9000", "KEY": "k-1"},
    )
    assert config.server.host == "0.0.0.0"
    assert config.server.port == 9000
    assert config.providers[0].base_url == "http://x/${literal}"
    assert config.providers[0].api_key == "k-1"


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        (
            {"server": {"port": "${NOPE}"}},
            {},
            "t.yaml: server.port: environment variable NOPE is not set",
        ),
        ({"server": {"port": 70000}}, {}, "t.yaml: server.port: must be a port number"),
        ({"server": {"prot": 1}}, {}, "t.yaml: server.prot: unknown key"),
        ({"server": []}, {}, "t.yaml: server: must be a mapping, not a list"),
        (
            {"firewall": {"max_body_bytes": 0}},
            {},
            "firewall.max_body_bytes: must be greater than 0",
        ),
        ({"upstream": {"read_timeout_s": "soon"}}, {}, "upstream.read_timeout_s: must be a number"),
        ({"providers": {"p": {}}}, {}, "providers.p.base_url: is required"),
        (
            {"providers": {"p": {"base_url": "ftp://x"}}},
            {},
            "providers.p.base_url: must start with",
        ),
        ({"providers": {"P!": {"base_url": "http://x"}}}, {}, "providers.P!: a provider name uses"),
        (
            {"providers": {"p": {"base_url": "http://x", "kind": "cobol"}}},
            {},
            "providers.p.kind: must be one of",
        ),
        (
            {"providers": {"p": {"base_url": "http://x", "models": "gpt-*"}}},
            {},
            "providers.p.models: must be a list",
        ),
        ([1, 2], {}, "t.yaml: <top level>: must be a mapping"),
    ],
)
def test_errors_name_file_key_path_and_problem(
    raw: object, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw, env)
    assert message in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("server:\n  port: [1,\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML \(line 3"):
        load_config(path, env={})


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "absent.yaml", env={})


def test_providers_with_keys_in_the_environment_are_added() -> None:
    config = parse_config(
        {"providers": {"groq": {"base_url": "http://mine"}}},
        source="t.yaml",
        env={"OPENAI_API_KEY": "sk-test", "GROQ_API_KEY": "gk", "MISTRAL_API_KEY": ""},
    )
    by_name = {p.name: p for p in config.providers}
    assert set(by_name) == {"groq", "openai"}
    assert by_name["groq"].base_url == "http://mine"  # the file wins over the catalogue
    assert by_name["openai"].api_key == "sk-test"
    assert by_name["openai"].priority == AUTO_PROVIDER_PRIORITY


def test_anthropic_from_the_environment_speaks_its_own_dialect() -> None:
    config = parse_config({}, source="t.yaml", env={"ANTHROPIC_API_KEY": "sk-ant-test"})
    [anthropic] = config.providers
    assert (anthropic.name, anthropic.kind) == ("anthropic", "anthropic")
    assert anthropic.auth_header == "x-api-key"
    assert anthropic.base_url == "https://api.anthropic.com/v1"
    assert anthropic.models == ("claude-*",)
    assert anthropic.priority == AUTO_PROVIDER_PRIORITY


def test_a_provider_kind_sets_the_default_auth_header() -> None:
    config = parse_config(
        {
            "providers": {
                "a": {"kind": "anthropic", "base_url": "http://a/v1"},
                "b": {
                    "kind": "anthropic",
                    "base_url": "http://b/v1",
                    "auth_header": "Authorization",
                },
                "c": {"base_url": "http://c/v1"},
            }
        },
        source="t.yaml",
        env={},
    )
    headers = {p.name: p.auth_header for p in config.providers}
    assert headers == {"a": "x-api-key", "b": "authorization", "c": "authorization"}


def test_auto_providers_can_be_switched_off() -> None:
    config = parse_config({"auto_providers": False}, source="t.yaml", env={"OPENAI_API_KEY": "k"})
    assert config.providers == ()


def test_secrets_from_the_environment_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        parse(
            {"providers": {"p": {"base_url": "${URL}", "priority": "${KEY}"}}},
            {"URL": "http://x", "KEY": "sk-secret"},
        )
    assert "sk-secret" not in str(info.value)


GUARDED_YAML = r"""
firewall: {max_body_bytes: 1024, max_json_depth: 16, max_messages: 8}
guardrails:
  pii-mask: {type: pii, entities: [email, phone], direction: both, action: mask}
  secrets: {type: secrets, direction: response, action: block}
  house-rules:
    type: rules
    patterns: {project_code: 'PRJ-\d{4}'}
    keywords: {codenames: [bluebird]}
    action: redact
  injection: {type: injection, flag_threshold: 0.5, block_threshold: 0.8, targets: [user]}
  tools:
    type: tool_policies
    default_action: block
    rules:
      - {name: no-rm, tool: run_shell, when: [{argument: cmd, contains: "rm -rf"}], action: block}
      - {tool: "send_*", action: block_when_context_untrusted}
  trust:
    type: trusted_data
    rules:
      - {name: no-keys, tool: "*", when: [{regex: "BEGIN [A-Z ]*KEY"}], action: block}
proxies:
  - {name: Default, id: default}
  - {name: Support Bot (EU), guardrails: [pii-mask, tools, trust]}
  - {name: All, id: all-in, description: everything, guardrails: [secrets, injection, house-rules]}
"""


def test_guardrails_and_proxies_parse() -> None:
    config = parse_config(yaml.safe_load(GUARDED_YAML), source="t.yaml", env={})
    assert (config.firewall.max_json_depth, config.firewall.max_messages) == (16, 8)
    g = config.guardrails
    assert g["pii-mask"] == ScanGuardrail(
        name="pii-mask", type="pii", direction="both", action="mask", entities=("email", "phone")
    )
    secrets = g["secrets"]
    assert isinstance(secrets, ScanGuardrail)
    assert "openai_api_key" in secrets.entities  # no list: every kind of the category
    assert (secrets.direction, secrets.applies_to("request")) == ("response", False)
    rules = g["house-rules"]
    assert isinstance(rules, ScanGuardrail)
    assert rules.patterns == (("project_code", r"PRJ-\d{4}"),)
    assert rules.keywords == (("codenames", ("bluebird",)),)
    assert g["injection"] == InjectionGuardrail(
        name="injection", flag_threshold=0.5, block_threshold=0.8, targets=frozenset({"user"})
    )
    assert g["tools"] == ToolPolicyGuardrail(
        name="tools",
        default_action="block",
        rules=(
            ToolRule("no-rm", "run_shell", (Condition("contains", "rm -rf", "cmd"),), "block"),
            # An unnamed rule is named after its place in the list.
            ToolRule("rules[1]", "send_*", (), "block_when_context_untrusted"),
        ),
    )
    assert g["trust"] == TrustedDataGuardrail(
        name="trust",
        default_action="untrust",
        rules=(ToolRule("no-keys", "*", (Condition("regex", "BEGIN [A-Z ]*KEY"),), "block"),),
    )
    assert [(p.id, p.name) for p in config.proxies] == [
        ("default", "Default"),
        ("support-bot-eu", "Support Bot (EU)"),
        ("all-in", "All"),
    ]
    assert config.proxies[0].guardrails == ()
    assert config.proxies[1].guardrails == (g["pii-mask"], g["tools"], g["trust"])
    assert config.proxies[2].description == "everything"
    assert config.default_proxy == "default"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Support Bot (EU)", "support-bot-eu"),
        ("  Billing -- v2 ", "billing-v2"),
        ("already-an-id", "already-an-id"),
    ],
)
def test_proxy_ids_derive_from_names(name: str, expected: str) -> None:
    assert proxy_id(name) == expected
    config = parse({"proxies": [{"name": name}]})
    assert isinstance(config, Config)
    assert config.proxies[0].id == expected


def test_default_proxy_selection() -> None:
    no_default = parse({"proxies": [{"name": "A"}]})
    assert isinstance(no_default, Config)
    assert no_default.default_proxy is None  # such requests need a proxy in the URL
    chosen = parse({"proxies": [{"name": "A"}, {"name": "B"}], "default_proxy": "b"})
    assert isinstance(chosen, Config)
    assert chosen.default_proxy == "b"
    implicit = parse({})
    assert isinstance(implicit, Config)
    assert [p.id for p in implicit.proxies] == ["default"]


TOOLS = "tool_policies"


def tool_rules(*rules: object, kind: str = TOOLS) -> dict[str, object]:
    return {"guardrails": {"t": {"type": kind, "rules": list(rules)}}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"guardrails": []}, "t.yaml: guardrails: must be a mapping, not a list"),
        ({"guardrails": {"g": {"action": "block"}}}, "guardrails.g.type: is required"),
        ({"guardrails": {"g": {"type": "magic"}}}, "guardrails.g.type: must be one of"),
        ({"guardrails": {"g": {"type": "pii", "mode": 1}}}, "guardrails.g.mode: unknown key"),
        (
            {"guardrails": {"g": {"type": "pii", "action": "shred"}}},
            "guardrails.g.action: must be one of block, redact, mask, flag, not 'shred'",
        ),
        (
            {"guardrails": {"g": {"type": "secrets", "direction": "sideways"}}},
            "guardrails.g.direction: must be one of",
        ),
        (
            {"guardrails": {"g": {"type": "pii", "entities": ["email", "dna"]}}},
            "guardrails.g.entities[1]: unknown pii entity 'dna'",
        ),
        (
            {"guardrails": {"g": {"type": "pii", "entities": ["openai_api_key"]}}},
            "guardrails.g.entities[0]: unknown pii entity 'openai_api_key'",
        ),
        ({"guardrails": {"g": {"type": "rules"}}}, "guardrails.g: a rules guardrail needs"),
        (
            {"guardrails": {"g": {"type": "rules", "patterns": {"p": "(open"}}}},
            'guardrails.g: custom pattern "p" is not a valid regular expression',
        ),
        (
            {
                "guardrails": {
                    "g": {"type": "rules", "patterns": {"x": "a"}, "keywords": {"x": ["b"]}}
                }
            },
            "guardrails.g: rule names used twice: x",
        ),
        (
            {"guardrails": {"g": {"type": "injection", "flag_threshold": 1.5}}},
            "guardrails.g.flag_threshold: must be between 0 and 1",
        ),
        (
            {
                "guardrails": {
                    "g": {"type": "injection", "flag_threshold": 0.6, "block_threshold": 0.5}
                }
            },
            "guardrails.g.block_threshold: must not be below flag_threshold",
        ),
        (
            {"guardrails": {"g": {"type": "injection", "targets": ["user", "system"]}}},
            "guardrails.g.targets[1]: must be one of user, tool",
        ),
        (tool_rules({"tool": "x"}), "guardrails.t.rules[0].action: is required"),
        (
            tool_rules({"tool": "x", "action": "trust"}),
            "guardrails.t.rules[0].action: must be one of allow, block, "
            "block_when_context_untrusted, not 'trust'",
        ),
        (
            tool_rules({"tool": "x", "action": "allow"}, kind="trusted_data"),
            "guardrails.t.rules[0].action: must be one of trust, untrust, block, not 'allow'",
        ),
        (
            {"guardrails": {"t": {"type": TOOLS, "default_action": "deny"}}},
            "guardrails.t.default_action: must be one of",
        ),
        (
            tool_rules({"tool": "x", "action": "block", "when": {"contains": "a"}}),
            "guardrails.t.rules[0].when: must be a list",
        ),
        (
            tool_rules(
                {"tool": "x", "action": "block"}, {"tool": "y", "action": "block", "when": [{}]}
            ),
            "guardrails.t.rules[1].when[0]: needs exactly one of",
        ),
        (
            tool_rules(
                {"tool": "x", "action": "block", "when": [{"contains": "a", "equals": "b"}]}
            ),
            "guardrails.t.rules[0].when[0]: needs exactly one of",
        ),
        (
            tool_rules({"tool": "x", "action": "block", "when": [{"matches": "a"}]}),
            "guardrails.t.rules[0].when[0].matches: unknown key",
        ),
        (
            tool_rules({"tool": "x", "action": "block", "when": [{"regex": "a(?=b)"}]}),
            "guardrails.t.rules[0].when[0].regex: custom pattern",
        ),
        (
            tool_rules({"tool": "x", "action": "block", "when": [{"regex": ["a"]}]}),
            "guardrails.t.rules[0].when[0].regex: must be a string, not a list",
        ),
        (
            tool_rules(
                {"tool": "*", "action": "block", "when": [{"argument": "a", "equals": "b"}]},
                kind="trusted_data",
            ),
            "guardrails.t.rules[0].when[0].argument: unknown key",
        ),
        ({"proxies": {"name": "a"}}, "t.yaml: proxies: must be a list"),
        ({"proxies": [{"id": "a"}]}, "proxies[0].name: is required"),
        ({"proxies": [{"name": "a", "colour": "red"}]}, "proxies[0].colour: unknown key"),
        (
            {"proxies": [{"name": "a", "guardrails": ["nope"]}]},
            "proxies[0].guardrails[0]: no guardrail is named 'nope'",
        ),
        (
            {
                "guardrails": {"s": {"type": "secrets"}},
                "proxies": [{"name": "a", "guardrails": ["s", "pii"]}],
            },
            "proxies[0].guardrails[1]: no guardrail is named 'pii'",
        ),
        (
            {"proxies": [{"name": "a", "guardrails": "s"}]},
            "proxies[0].guardrails: must be a list of strings",
        ),
        (
            {"proxies": [{"name": "A"}, {"name": "B"}, {"name": "x", "id": "a"}]},
            "proxies[2].id: 'a' is used by another proxy",
        ),
        (
            {"proxies": [{"name": "Support Bot"}, {"name": "support-bot!"}]},
            "proxies[1].id: 'support-bot' is used by another proxy",
        ),
        ({"proxies": [{"name": "x", "id": "v1"}]}, "proxies[0].id: 'v1' is reserved"),
        ({"proxies": [{"name": "Admin"}]}, "proxies[0].id: 'admin' is reserved"),
        ({"proxies": [{"name": "Metrics!"}]}, "proxies[0].id: 'metrics' is reserved"),
        (
            {"proxies": [{"name": "x", "id": "Bad_Id"}]},
            "proxies[0].id: 'Bad_Id' is not a valid id",
        ),
        ({"proxies": [{"name": "???"}]}, "proxies[0].id: '' is not a valid id"),
        (
            {"proxies": [{"name": "a"}], "default_proxy": "default"},
            "default_proxy: names no proxy: 'default'",
        ),
        ({"default_proxy": "other"}, "default_proxy: names no proxy: 'other'"),
        ({"firewall": {"max_json_depth": 0}}, "firewall.max_json_depth: must be greater than 0"),
        ({"firewall": {"max_messages": "many"}}, "firewall.max_messages: must be a number"),
    ],
)
def test_guardrail_and_proxy_errors_name_the_key_path(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert message in str(info.value)
    assert str(info.value).startswith("t.yaml: ")


def test_guardrail_errors_do_not_echo_secrets_from_the_environment() -> None:
    with pytest.raises(ConfigError) as info:
        parse({"guardrails": {"g": {"type": "pii", "action": "${ACTION}"}}}, {"ACTION": "blok"})
    assert "guardrails.g.action" in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse(
            {"guardrails": {"g": {"type": "injection", "flag_threshold": "${T}"}}},
            {"T": "sk-secret"},
        )
    assert "sk-secret" not in str(info.value)


def test_condition_values_interpolate_the_environment() -> None:
    config = parse(
        tool_rules({"tool": "x", "action": "block", "when": [{"equals": "${V}"}]}), {"V": "v"}
    )
    assert isinstance(config, Config)
    policy = config.guardrails["t"]
    assert isinstance(policy, ToolPolicyGuardrail)
    assert policy.rules[0].when == (Condition("equals", "v"),)


def test_accented_proxy_names_fold_to_ascii_ids() -> None:
    from palisade.config import proxy_id

    assert proxy_id("Équipe Données") == "equipe-donnees"


def test_bad_argument_path_is_a_config_error() -> None:
    raw = {
        "guardrails": {
            "t": {
                "type": "tool_policies",
                "rules": [
                    {"tool": "x", "when": [{"argument": "a..b", "equals": "1"}], "action": "block"}
                ],
            }
        }
    }
    with pytest.raises(ConfigError, match=r"guardrails\.t\.rules\[0\]\.when\[0\]\.argument"):
        parse_config(raw, source="t.yaml", env={})


def test_proxy_auth_jwt_and_reach_parse_and_round_trip() -> None:
    config = parse(
        {
            "guardrails": {"s": {"type": "secrets"}},
            "identity": {"failed_auth_limit": 4, "sync_interval_s": 0.5},
            "proxies": [
                {
                    "name": "SSO",
                    "auth": ["jwt", "virtual_key", "jwt"],
                    "jwt": {
                        "issuer": "https://idp",
                        "audience": "pal",
                        "jwks_url": "https://idp/jwks",
                        "algorithms": ["RS256", "ES256"],
                    },
                    "providers": ["mock"],
                    "models": ["gpt-*"],
                    "guardrails": ["s"],
                    "refuse_unpriced": "true",
                },
                {"name": "Open"},
            ],
        }
    )
    assert isinstance(config, Config)
    assert config.identity.failed_auth_limit == 4
    assert config.identity.sync_interval_s == 0.5
    assert config.identity.oauth_token_ttl_s == 900
    sso, open_proxy = config.proxies
    assert sso.auth == ("jwt", "virtual_key")
    assert sso.jwt is not None
    assert sso.jwt.algorithms == ("RS256", "ES256")
    assert (sso.providers, sso.models) == (("mock",), ("gpt-*",))
    assert open_proxy.auth == ()
    assert (sso.refuse_unpriced, open_proxy.refuse_unpriced) == (True, False)
    assert parse_proxy(proxy_to_dict(sso), config.guardrails, source="x") == sso
    # Left out when off: the stored proxies of files that never set it do not change.
    assert "refuse_unpriced" not in proxy_to_dict(open_proxy)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"proxies": [{"name": "a", "auth": ["password"]}]}, "proxies[0].auth[0]: must be one of"),
        ({"proxies": [{"name": "a", "auth": ["jwt"]}]}, "proxies[0].jwt: is required when"),
        (
            {"proxies": [{"name": "a", "jwt": {"issuer": "i", "audience": "a"}}]},
            "proxies[0].jwt.jwks_url: is required",
        ),
        (
            {
                "proxies": [
                    {"name": "a", "jwt": {"issuer": "i", "audience": "a", "jwks_url": "file:/x"}}
                ]
            },
            "proxies[0].jwt.jwks_url: must start with http",
        ),
        (
            {
                "proxies": [
                    {
                        "name": "a",
                        "jwt": {
                            "issuer": "i",
                            "audience": "a",
                            "jwks_url": "https://x",
                            "algorithms": ["HS256"],
                        },
                    }
                ]
            },
            "proxies[0].jwt.algorithms[0]: must be one of",
        ),
        ({"identity": {"failed_auth_limit": 0}}, "identity.failed_auth_limit: must be greater"),
        ({"identity": {"sync_interval_s": -1}}, "identity.sync_interval_s: must be greater"),
        ({"identity": {"poll": 1}}, "identity.poll: unknown key"),
    ],
)
def test_identity_errors_name_the_key_path(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert message in str(info.value)


def test_a_proxy_from_the_admin_api_is_not_interpolated() -> None:
    proxy = parse_proxy({"name": "x", "description": "${HOME}"}, {}, source="proxy")
    assert proxy.description == "${HOME}"
    with pytest.raises(ConfigError, match="proxy: name: is required"):
        parse_proxy({}, {}, source="proxy")


def test_every_error_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse(
            {
                "server": {"port": 70000, "prot": 1},
                "firewall": {"max_body_bytes": 0},
                "providers": {"p": {}},
                "guardrails": {"g": {"type": "pii", "action": "shred"}},
                "proxies": [{"name": "a", "guardrails": ["nope"]}],
                "limits": [{"name": "x", "scope": [], "rpm": 1, "proxies": ["b"]}],
            }
        )
    lines = str(info.value).splitlines()
    assert all(line.startswith("t.yaml: ") for line in lines)
    for expected in (
        "server.port: must be a port number",
        "server.prot: unknown key",
        "firewall.max_body_bytes: must be greater than 0",
        "providers.p.base_url: is required",
        "guardrails.g.action: must be one of",
        # The proxy's own reference is checked although other sections failed; the guardrail
        # section it leans on failed, so whether `nope` exists is not guessed at.
        "limits[0].proxies[0]: no proxy has the id 'b'",
    ):
        assert any(expected in line for line in lines), (expected, lines)
    assert not any("nope" in line for line in lines)
    assert len(info.value.problems) == len(lines) == 6


def test_cross_section_errors_are_all_reported() -> None:
    with pytest.raises(ConfigError) as info:
        parse(
            {
                "proxies": [{"name": "a", "guardrails": ["x", "y"]}, {"name": "A"}],
                "default_proxy": "zz",
            }
        )
    text = str(info.value)
    for expected in (
        "proxies[0].guardrails[0]: no guardrail is named 'x'",
        "proxies[0].guardrails[1]: no guardrail is named 'y'",
        "proxies[1].id: 'a' is used by another proxy",
        "default_proxy: names no proxy: 'zz'",
    ):
        assert expected in text


def test_choices_from_the_environment_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse(
            {
                "guardrails": {"g": {"type": "pii", "action": "${ACTION}"}},
                "server": {"port": "${PORT}"},
                "store": {"on_redis_failure": "${MODE:-x}"},
            },
            {"ACTION": "hunter2", "PORT": "99999"},
        )
    text = str(info.value)
    assert "guardrails.g.action: must be one of block, redact, mask, flag" in text
    assert "server.port: must be a port number" in text
    assert "store.on_redis_failure: must be one of" in text
    assert "hunter2" not in text
    assert "99999" not in text


def test_run_time_defaults_are_the_file_defaults() -> None:
    # The run-time types that are not the file's models keep their own defaults (code builds
    # them directly); they must say what the file's defaults say.
    from palisade.config import ProviderConfig, TracingConfig
    from palisade.config.observability import TracingSection
    from palisade.config.providers import ProviderSection

    assert TracingSection().build() == TracingConfig()
    assert ProviderSection(base_url="http://x").build("p") == ProviderConfig(
        name="p", base_url="http://x"
    )
    assert parse({}) == Config(source="t.yaml")


def test_a_bedrock_provider_needs_no_base_url_and_keeps_its_options() -> None:
    config = parse_config(
        {"providers": {"aws": {"kind": "bedrock", "region": "eu-central-1", "profile": "prod"}}},
        source="t.yaml",
        env={},
    )
    [aws] = config.providers
    assert aws.base_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert aws.dialects == ("bedrock",)
    assert dict(aws.options) == {"region": "eu-central-1", "profile": "prod"}
    with pytest.raises(ConfigError) as info:
        parse_config({"providers": {"other": {"kind": "openai"}}}, source="t.yaml", env={})
    assert "providers.other.base_url: is required" in str(info.value)
