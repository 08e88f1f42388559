from __future__ import annotations

import pytest

from palisade.identity import credentials
from palisade.identity.credentials import ACCESS_TOKEN, VIRTUAL_KEY


def test_an_issued_token_parses_back_and_verifies_against_its_hash_only() -> None:
    cid, token, stored = credentials.issue(VIRTUAL_KEY)
    parsed = credentials.parse(token)
    assert parsed is not None
    assert (parsed.kind, parsed.id) == ("pal", cid)
    assert parsed.secret not in stored.hex()
    assert credentials.verify(parsed.secret, stored)
    assert not credentials.verify(parsed.secret + "x", stored)
    assert not credentials.verify(parsed.secret, None)


def test_tokens_are_unique_and_carry_256_bits() -> None:
    tokens = {credentials.issue(ACCESS_TOKEN)[1] for _ in range(100)}
    assert len(tokens) == 100
    parsed = credentials.parse(next(iter(tokens)))
    assert parsed is not None
    assert parsed.kind == "pat"
    assert len(parsed.secret) >= 43  # 32 bytes, base64url


@pytest.mark.parametrize(
    "token",
    [
        "sk-proj-abc",
        "pal-",
        "pal-0123456789ab",
        "pal-0123456789ab-",
        "pal-0123456789AB-secret",
        "pal-0123-secret",
        "pax-0123456789ab-secret",
        "eyJhbGciOiJSUzI1NiJ9.e30.sig",
    ],
)
def test_anything_else_is_not_one_of_ours(token: str) -> None:
    assert credentials.parse(token) is None


def test_malformed_tokens_with_our_prefix_are_still_recognised_as_ours() -> None:
    assert credentials.looks_like_ours("pal-garbage")
    assert credentials.looks_like_ours("pat-")
    assert not credentials.looks_like_ours("sk-pal-x")


def test_secrets_with_dashes_survive_parsing() -> None:
    parsed = credentials.parse("pal-0123456789ab-a-b_c-d")
    assert parsed is not None
    assert parsed.secret == "a-b_c-d"
