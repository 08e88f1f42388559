from __future__ import annotations

import pytest
from starlette.requests import Request

from palisade.config import AdminConfig
from palisade.errors import GatewayError
from palisade.routes.admin_auth import Role, require_role

CONFIG = AdminConfig(token="admin-secret", viewer_token="viewer-secret")


def request(authorization: str | None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return Request({"type": "http", "method": "GET", "path": "/admin/v1/x", "headers": headers})


@pytest.mark.parametrize(
    ("token", "role", "expected"),
    [
        ("admin-secret", "admin", "admin"),
        ("admin-secret", "viewer", "admin"),
        ("viewer-secret", "viewer", "viewer"),
    ],
)
def test_roles(token: str, role: Role, expected: Role) -> None:
    assert require_role(request(f"Bearer {token}"), CONFIG, role) == expected


@pytest.mark.parametrize(
    ("authorization", "role", "status", "code"),
    [
        (None, "viewer", 401, "invalid_admin_token"),
        ("Bearer wrong", "viewer", 401, "invalid_admin_token"),
        ("Basic admin-secret", "admin", 401, "invalid_admin_token"),
        ("Bearer viewer-secret", "admin", 403, "admin_role_required"),
    ],
)
def test_refusals_never_echo_the_token(
    authorization: str | None, role: Role, status: int, code: str
) -> None:
    with pytest.raises(GatewayError) as info:
        require_role(request(authorization), CONFIG, role)
    assert (info.value.status, info.value.code) == (status, code)
    assert "secret" not in info.value.message
    assert "wrong" not in info.value.message


def test_without_tokens_the_admin_api_is_off() -> None:
    with pytest.raises(GatewayError) as info:
        require_role(request("Bearer x"), AdminConfig(), "viewer")
    assert info.value.status == 404
