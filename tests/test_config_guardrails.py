"""A guardrail definition outside the file (the admin API, the store): `parse_guardrail` gives
the file's errors with the key path, and `guardrail_to_dict` is its inverse for every type."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from palisade.config import ConfigError, guardrail_to_dict, parse_config, parse_guardrail

FILE = """
guardrails:
  every-pii: {type: pii, direction: request, action: redact}
  email: {type: pii, entities: [email], action: block}
  secrets: {type: secrets}
  house: {type: rules, patterns: {code: "PRJ-[0-9]+"}, keywords: {names: [bluebird]}}
  injection: {type: injection}
  strict: {type: injection, flag_threshold: 0.3, block_threshold: 0.8, targets: [tool]}
  tools:
    type: tool_policies
    rules:
      - {tool: "fs_*", when: [{argument: path, starts_with: /etc}], action: block}
      - {name: ok, tool: get_time, action: allow}
  trust:
    type: trusted_data
    default_action: trust
    rules: [{tool: web, when: [{contains: ignore}], action: untrust}]
"""


def test_every_type_of_the_file_survives_the_round_trip() -> None:
    config = parse_config(yaml.safe_load(FILE), source="t", env={})
    for name, built in config.guardrails.items():
        stored = guardrail_to_dict(built)
        assert stored["name"] == name
        assert parse_guardrail(stored, source="store") == built, name


def test_defaults_stay_defaults_in_the_stored_form() -> None:
    config = parse_config(yaml.safe_load(FILE), source="t", env={})
    g = config.guardrails
    # Every kind, the default threshold, a rule named after its place: left to the defaults.
    assert guardrail_to_dict(g["every-pii"])["entities"] == []
    assert guardrail_to_dict(g["injection"])["flag_threshold"] is None
    assert "name" not in guardrail_to_dict(g["tools"])["rules"][0]
    assert guardrail_to_dict(g["tools"])["rules"][1]["name"] == "ok"


@pytest.mark.parametrize(
    ("raw", "path", "says"),
    [
        ({"type": "pii"}, "name", "is required"),
        ({"name": "x", "type": "pii", "action": "nope"}, "action", "must be one of block"),
        ({"name": "x", "type": "bogus"}, "type", "must be one of pii"),
        ({"name": "x", "type": "pii", "entities": ["zzz"]}, "entities[0]", "unknown pii entity"),
        ({"name": "x", "type": "rules"}, "", "needs `patterns` or `keywords`"),
        ({"name": "x", "type": "injection", "flag_threshold": 2}, "flag_threshold", "between"),
        (
            {"name": "x", "type": "trusted_data", "rules": [{"tool": "t", "action": "allow"}]},
            "rules[0].action",
            "must be one of trust",
        ),
    ],
)
def test_a_bad_definition_gets_the_file_s_error_with_the_key_path(
    raw: dict[str, Any], path: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_guardrail(raw, source="guardrail")
    [(where, what)] = caught.value.problems
    assert where == path
    assert says in what
    assert str(caught.value).startswith("guardrail: ")
