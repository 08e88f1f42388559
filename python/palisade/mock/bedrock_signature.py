"""Checks a request's AWS SigV4 signature against the mock's test credentials, as Bedrock does.

Written from the SigV4 specification with `hmac`/`hashlib`, independently of the gateway's signer
(Rust), so that the e2e tests check one against the other: the canonical request (the path as
received, percent-encoded once more; the sorted query; the signed headers, their values trimmed;
the body's SHA-256), the string to sign over the credential scope, the key derived from the
secret. Refusals are AWS's: 403 with `x-amzn-errortype` and `{"message": ...}`.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote

_SCHEME = "AWS4-HMAC-SHA256"
# AWS refuses a request signed more than 5 minutes away from its clock.
MAX_SKEW_S = 300

Refusal = tuple[str, str]  # (error type, message)

MISSING = (
    "MissingAuthenticationTokenException",
    "Missing Authentication Token",
)
UNKNOWN_KEY = (
    "UnrecognizedClientException",
    "The security token included in the request is invalid.",
)
BAD_SIGNATURE = (
    "InvalidSignatureException",
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details.",
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _fields(authorization: str) -> dict[str, str] | None:
    scheme, _, rest = authorization.partition(" ")
    if scheme != _SCHEME:
        return None
    out: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        out[name] = value
    return out if {"Credential", "SignedHeaders", "Signature"} <= out.keys() else None


def check(
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, str],
    service: str = "bedrock",
) -> Refusal | None:
    """None when the request is signed by one of `keys` (access key id -> secret)."""
    fields = _fields(headers.get("authorization", ""))
    if fields is None:
        return MISSING
    credential = fields["Credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request" or credential[3] != service:
        return BAD_SIGNATURE
    access_key, day, region = credential[0], credential[1], credential[2]
    secret = keys.get(access_key)
    if secret is None:
        return UNKNOWN_KEY
    amz_date = headers.get("x-amz-date", "")
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return BAD_SIGNATURE
    if abs(time.time() - signed_at) > MAX_SKEW_S or not amz_date.startswith(day):
        return ("InvalidSignatureException", "Signature expired: the request is too old.")
    names = fields["SignedHeaders"].split(";")
    if "host" not in names:
        return BAD_SIGNATURE
    canonical_headers = "".join(
        f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in names
    )
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
    canonical = "\n".join(
        [
            method,
            quote(raw_path or "/", safe="/~"),
            canonical_query,
            canonical_headers,
            fields["SignedHeaders"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = f"{_SCHEME}\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(f"AWS4{secret}".encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        return BAD_SIGNATURE
    return None
