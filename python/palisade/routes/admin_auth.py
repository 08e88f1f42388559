"""Who may call `/admin/v1/`: a bearer token per role, compared in constant time."""

from __future__ import annotations

import hmac
from typing import Literal

from starlette.requests import Request

from palisade.config import AdminConfig
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
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given = token.strip().encode() if scheme.lower() == "bearer" else b""
    # Both compared every time, so the timing says nothing about which role a token matched.
    is_admin = _same(given, admin.token)
    is_viewer = _same(given, admin.viewer_token)
    if not (is_admin or is_viewer):
        raise GatewayError(
            "Palisade: the admin API needs `Authorization: Bearer <admin token>`.",
            status=401,
            type="authentication_error",
            code="invalid_admin_token",
        )
    if role == "admin" and not is_admin:
        raise GatewayError(
            "Palisade: this admin call needs the admin role; the token given is a viewer's.",
            status=403,
            type="permission_error",
            code="admin_role_required",
        )
    return "admin" if is_admin else "viewer"


def _same(given: bytes, expected: str | None) -> bool:
    if expected is None:
        hmac.compare_digest(given, b"\0" * len(given))
        return False
    return hmac.compare_digest(given, expected.encode())
