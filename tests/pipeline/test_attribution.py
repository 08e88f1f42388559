from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from palisade.errors import BadRequest
from palisade.pipeline.attribution import Attribution, parse_attribution


def parse(**headers: str) -> Attribution:
    return parse_attribution(Headers({k.replace("_", "-"): v for k, v in headers.items()}))


def test_no_headers_set_nothing() -> None:
    assert parse() == Attribution()


def test_single_headers_under_both_prefixes() -> None:
    assert parse(
        x_archestra_agent_id="a1",
        x_palisade_user_id="u1",
        x_archestra_session_id="s1",
        x_palisade_execution_id="e1",
    ) == Attribution(agent_id="a1", user_id="u1", session_id="s1", execution_id="e1")


def test_meta_sets_agent_execution_and_session_in_that_order() -> None:
    assert parse(x_archestra_meta="a/e/s") == Attribution(
        agent_id="a", execution_id="e", session_id="s"
    )
    assert parse(x_palisade_meta="a/e/s") == Attribution(
        agent_id="a", execution_id="e", session_id="s"
    )


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ("a", Attribution(agent_id="a")),
        ("a/", Attribution(agent_id="a")),
        ("/e", Attribution(execution_id="e")),
        ("//s", Attribution(session_id="s")),
        ("a//s", Attribution(agent_id="a", session_id="s")),
        ("", Attribution()),
        ("//", Attribution()),
        (" a / e / s ", Attribution(agent_id="a", execution_id="e", session_id="s")),
    ],
)
def test_empty_meta_segments_set_nothing(meta: str, expected: Attribution) -> None:
    assert parse(x_archestra_meta=meta) == expected


def test_single_headers_win_over_meta_and_empty_singles_do_not_erase_it() -> None:
    got = parse(x_archestra_meta="a/e/s", x_archestra_agent_id="A", x_palisade_session_id="")
    assert got == Attribution(agent_id="A", execution_id="e", session_id="s")


def test_archestra_prefix_wins_over_palisade_prefix() -> None:
    assert parse(x_archestra_agent_id="a", x_palisade_agent_id="p").agent_id == "a"


@pytest.mark.parametrize(
    "headers",
    [
        {"x_archestra_meta": "a/e/s/x"},
        {"x_palisade_meta": "a/b/c/"},
        {"x_archestra_agent_id": "team/agent"},
        {"x_palisade_session_id": "/"},
        {"x_archestra_user_id": "x" * 257},
        {"x_archestra_execution_id": "tab\there"},
    ],
)
def test_malformed_ids_are_refused_with_400(headers: dict[str, str]) -> None:
    with pytest.raises(BadRequest) as info:
        parse(**headers)
    assert info.value.status == 400
    assert info.value.code == "invalid_attribution_header"
