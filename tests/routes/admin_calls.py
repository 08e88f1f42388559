"""Calls to the admin API in process, and what every refusal of it must look like."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

ADMIN = {"authorization": "Bearer adm"}
VIEWER = {"authorization": "Bearer view"}


def refused(app: TestClient, method: str, path: str, body: Any, status: int) -> dict[str, Any]:
    """The error of an admin call (`path` under /admin/v1) that must be refused with `status`:
    a body of bytes is sent as it is, anything else as JSON."""
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    answer = app.request(method, f"/admin/v1{path}", headers=ADMIN, **kwargs)
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["message"].startswith("Palisade: ")
    return error
