from pathlib import Path

import pytest

from palisade.config import AUTO_PROVIDER_PRIORITY, ConfigError, load_config, parse_config


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
    assert [p.name for p in config.providers] == ["mock"]
    assert config.providers[0].base_url == "http://127.0.0.1:9100/v1"


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
