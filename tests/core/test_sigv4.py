"""SigV4 in Rust against botocore's signer: the same canonical request, string to sign and
signature for the headers the gateway signs, with and without a session token."""

from __future__ import annotations

import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from palisade._core import SigV4Signer

URL = (
    "https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-3-haiku-v1%3A0/converse"
)
AMZ_DATE = "20261205T124336Z"
BODY = b'{"messages":[{"role":"user","content":[{"text":"hello"}]}]}'


def botocore_authorization(token: str | None) -> str:
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key+1", token), "bedrock", "eu-west-1")
    headers = {"content-type": "application/json", "X-Amz-Date": AMZ_DATE}
    if token:
        headers["X-Amz-Security-Token"] = token
    request = AWSRequest(method="POST", url=URL, data=BODY, headers=headers)
    request.context["timestamp"] = AMZ_DATE
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    names = signer.signed_headers(signer.headers_to_sign(request))
    scope = f"AKIDEXAMPLE/{AMZ_DATE[:8]}/eu-west-1/bedrock/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={names}, Signature={signature}"


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE//token=="])
def test_signature_matches_botocore(token: str | None) -> None:
    headers = [
        ("content-type", "application/json"),
        ("host", "bedrock-runtime.eu-west-1.amazonaws.com"),
        ("x-amz-date", AMZ_DATE),
    ]
    if token:
        headers.append(("x-amz-security-token", token))
    signer = SigV4Signer("AKIDEXAMPLE", "secret/key+1", "eu-west-1", "bedrock")
    path = "/model/anthropic.claude-3-haiku-v1%3A0/converse"
    ours = signer.authorization("POST", path, "", headers, BODY, AMZ_DATE)
    assert ours == botocore_authorization(token)


def test_repr_never_shows_the_secret() -> None:
    signer = SigV4Signer("AKIDEXAMPLE", "the-secret", "us-east-1", "bedrock")
    assert "the-secret" not in repr(signer)
    assert signer.access_key == "AKIDEXAMPLE"


def test_cost_per_request_is_under_twenty_microseconds() -> None:
    # botocore's SigV4Auth.add_auth measured 55 us here; the budget is 20 us.
    signer = SigV4Signer("AKIDEXAMPLE", "secret", "us-east-1", "bedrock")
    headers = [("content-type", "application/json"), ("host", "h"), ("x-amz-date", AMZ_DATE)]
    body = BODY * 10
    n = 1000
    best = 1.0
    for _ in range(5):  # the best run: the machine is shared
        started = time.perf_counter()
        for _ in range(n):
            signer.authorization("POST", "/model/m/converse", "", headers, body, AMZ_DATE)
        best = min(best, (time.perf_counter() - started) / n)
    assert best < 20e-6
