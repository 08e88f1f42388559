"""Idempotency keys: which header, which values."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from palisade.errors import BadRequest
from palisade.pipeline.dedup import encode_answer, idempotency_key


def test_either_header_names_the_key() -> None:
    assert idempotency_key(Headers({"Idempotency-Key": "a"})) == "a"
    assert idempotency_key(Headers({"X-Idempotency-Key": "b"})) == "b"
    assert idempotency_key(Headers({"Idempotency-Key": "a", "X-Idempotency-Key": "b"})) == "a"
    assert idempotency_key(Headers({})) is None


@pytest.mark.parametrize("value", ["", "k" * 256])
def test_empty_or_overlong_keys_are_refused(value: str) -> None:
    with pytest.raises(BadRequest) as info:
        idempotency_key(Headers({"Idempotency-Key": value}))
    assert info.value.code == "invalid_idempotency_key"


def test_stored_answers_leave_out_per_response_headers() -> None:
    answer = encode_answer(
        200,
        [
            (b"content-type", b"application/json"),
            (b"content-length", b"2"),
            (b"x-palisade-request-id", b"req_1"),
            (b"x-ratelimit-remaining-requests", b"3"),
            (b"openai-processing-ms", b"12"),
        ],
        b"{}",
    )
    head, _, body = answer.partition(b"\n")
    assert body == b"{}"
    assert b"content-type" in head
    assert b"openai-processing-ms" in head
    for gone in (b"content-length", b"req_1", b"x-ratelimit"):
        assert gone not in head
