"""The gateway's own credentials: `<kind>-<id>-<secret>`.

The id is short and not secret: it finds the record without a scan and names the credential
in listings and rate limits. The secret is 256 random bits, shown once and stored only as its
SHA-256. A fast hash is enough here: slow password hashes (bcrypt, scrypt, argon2) protect
low-entropy secrets people choose; a 256-bit random secret cannot be guessed from its hash, and
a fast hash keeps verification at about a microsecond per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

Kind = Literal["pal", "pat"]
VIRTUAL_KEY: Kind = "pal"  # a virtual API key
ACCESS_TOKEN: Kind = "pat"  # noqa: S105 (a prefix, no secret): an OAuth access token
KINDS: tuple[Kind, ...] = (VIRTUAL_KEY, ACCESS_TOKEN)

_ID_BYTES = 6
_SECRET_BYTES = 32
_ID_CHARS = frozenset("0123456789abcdef")
# Compared against when an id is unknown, so that path costs the same as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"palisade").digest()


@dataclass(frozen=True, slots=True)
class Credential:
    kind: Kind
    id: str
    secret: str


def new_id() -> str:
    return secrets.token_hex(_ID_BYTES)


def issue(kind: Kind) -> tuple[str, str, bytes]:
    """A new credential: (id, the token to hand out once, the hash to store)."""
    cid, secret = new_id(), secrets.token_urlsafe(_SECRET_BYTES)
    return cid, f"{kind}-{cid}-{secret}", hash_secret(secret)


def new_secret() -> tuple[str, bytes]:
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse(token: str) -> Credential | None:
    """The parts of one of our tokens, or None for anything else (a provider key, a JWT)."""
    kind, sep, rest = token.partition("-")
    if not sep or kind not in KINDS:
        return None
    cid, sep, secret = rest.partition("-")
    if not sep or len(cid) != 2 * _ID_BYTES or not _ID_CHARS.issuperset(cid) or not secret:
        return None
    return Credential(kind=kind, id=cid, secret=secret)


def looks_like_ours(token: str) -> bool:
    """Any token with our kind prefix, well formed or not: such a token is never forwarded to
    a provider as if it were the client's own key."""
    return token.startswith(tuple(f"{k}-" for k in KINDS))


def verify(secret: str, stored: bytes | None) -> bool:
    return hmac.compare_digest(hash_secret(secret), _DUMMY_HASH if stored is None else stored) and (
        stored is not None
    )
