"""Who may call `/admin/v1/`: a bearer token per role, compared in constant time, or the
console's session cookie (with its CSRF token for writes)."""

from __future__ import annotations

import hmac
from typing import Literal

from starlette.requests import Request

from palisade.config import AdminConfig
from palisade.console import session as console
from palisade.errors import GatewayError

Role = Literal["viewer", "admin"]


def require_role(request: Request, admin: AdminConfig, role: Role) -> Role:
    """The caller's role, at least `role`; 401 without a valid token, 403 when it is only a
    viewer's and `role` is admin. With no admin token configured the admin API is off (404)."""
    if admin.token is None and admin.viewer_token is None:
        raise GatewayError(
            "Palisade: the admin API is off; set `admin.token` in the config to turn it on.",
            status=404,
            code="admin_api_disabled",
        )
    header = request.headers.get("authorization")
    if header is None and console.COOKIE in request.cookies:
        return _console_role(request, admin, role)
    scheme, _, token = (header or "").partition(" ")
    given = token.strip().encode() if scheme.lower() == "bearer" else b""
    found = role_of_token(given, admin)
    if found is None:
        raise GatewayError(
            "Palisade: the admin API needs `Authorization: Bearer <admin token>`.",
            status=401,
            type="authentication_error",
            code="invalid_admin_token",
        )
    return _allowed(found, role)


def role_of_token(given: bytes, admin: AdminConfig) -> Role | None:
    """The role whose token `given` is, compared in constant time."""
    # Both compared every time, so the timing says nothing about which role a token matched.
    is_admin = _same(given, admin.token)
    is_viewer = _same(given, admin.viewer_token)
    return "admin" if is_admin else "viewer" if is_viewer else None


def _console_role(request: Request, admin: AdminConfig, role: Role) -> Role:
    """The console's session cookie instead of a bearer token (console/session.py): a write
    also needs the session's CSRF token."""
    session = console.from_request(request, admin)
    if session is None:
        raise GatewayError(
            "Palisade: the console session is missing or expired; sign in again.",
            status=401,
            type="authentication_error",
            code="invalid_console_session",
        )
    if not console.csrf_ok(request, session):
        raise GatewayError(
            f"Palisade: a console write needs the session's CSRF token in `{console.CSRF_HEADER}`.",
            status=403,
            type="permission_error",
            code="csrf_token_invalid",
        )
    return _allowed(session.role, role)


def _allowed(found: Role, role: Role) -> Role:
    if role == "admin" and found != "admin":
        raise GatewayError(
            "Palisade: this admin call needs the admin role; the token given is a viewer's.",
            status=403,
            type="permission_error",
            code="admin_role_required",
        )
    return found


def _same(given: bytes, expected: str | None) -> bool:
    if expected is None:
        hmac.compare_digest(given, b"\0" * len(given))
        return False
    return hmac.compare_digest(given, expected.encode())
