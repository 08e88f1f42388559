"""The console's sign-in: a signed session cookie per role, and its CSRF token.

The cookie holds `role.expiry.nonce.signature`, never the token: the signature is an HMAC under
a key derived from that role's token, so every worker and replica checks it without shared
state, and changing a token signs every session of that role out. The CSRF token is an HMAC of
the session's nonce under the same key: the page reads it from `GET /console/session` and sends
it in `X-Palisade-CSRF` with every write; a cross-site page can do neither (`SameSite=Strict`,
`HttpOnly`, and the session endpoint needs the cookie).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from palisade.config import AdminConfig

Role = Literal["viewer", "admin"]
COOKIE = "palisade_console"
CSRF_HEADER = "x-palisade-csrf"
TTL_S = 12 * 3600
_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


@dataclass(frozen=True)
class Session:
    role: Role
    expires: int
    csrf: str


def _key(token: str) -> bytes:
    return hmac.new(token.encode(), b"palisade-console-session-v1", hashlib.sha256).digest()


def _mac(key: bytes, text: str) -> str:
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _token(admin: AdminConfig, role: Role) -> str | None:
    return admin.token if role == "admin" else admin.viewer_token


def issue(admin: AdminConfig, role: Role, now: float | None = None) -> tuple[str, Session]:
    """A new session of `role`: (cookie value, session)."""
    token = _token(admin, role)
    assert token is not None
    key = _key(token)
    expires = int(time.time() if now is None else now) + TTL_S
    nonce = secrets.token_urlsafe(18)
    payload = f"{role}.{expires}.{nonce}"
    return f"{payload}.{_mac(key, payload)}", Session(role, expires, _mac(key, f"csrf.{nonce}"))


def read(admin: AdminConfig, value: str, now: float | None = None) -> Session | None:
    """The session a cookie value holds, or None when it is malformed, forged or expired."""
    parts = value.split(".")
    if len(parts) != 4 or parts[0] not in ("admin", "viewer") or not parts[1].isdigit():
        return None
    role: Role = "admin" if parts[0] == "admin" else "viewer"
    token = _token(admin, role)
    if token is None:
        return None
    key = _key(token)
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, payload), parts[3]):
        return None
    expires = int(parts[1])
    if expires <= (time.time() if now is None else now):
        return None
    return Session(role, expires, _mac(key, f"csrf.{parts[2]}"))


def from_request(request: Request, admin: AdminConfig) -> Session | None:
    value = request.cookies.get(COOKIE)
    return None if value is None else read(admin, value)


def csrf_ok(request: Request, session: Session) -> bool:
    """A read needs no CSRF token; a write needs the session's."""
    if request.method in _SAFE_METHODS:
        return True
    given = request.headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(given.encode(), session.csrf.encode())


def cookie_header(request: Request, value: str, max_age: int) -> str:
    """`Set-Cookie` for the session (`Secure` when the console is reached over https)."""
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    return f"{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict" + (
        "; Secure" if secure else ""
    )
