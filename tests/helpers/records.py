"""The interaction record of a request, read through the admin API once the writer (off the
request path) has stored it."""

from __future__ import annotations

import time
from typing import Any

import httpx2 as httpx


def interaction(gateway: str, request_id: str, admin_token: str) -> dict[str, Any]:
    """`GET /admin/v1/interactions/{request_id}`, polled while it answers 404 (not written
    yet); fails on any other answer or after 15 s."""
    deadline = time.monotonic() + 15
    while True:
        answer = httpx.get(
            f"{gateway}/admin/v1/interactions/{request_id}",
            headers={"authorization": f"Bearer {admin_token}"},
            timeout=10,
        )
        if answer.status_code == 200:
            found: dict[str, Any] = answer.json()
            return found
        assert answer.status_code == 404, answer.text
        assert time.monotonic() < deadline, f"no record of {request_id}"
        time.sleep(0.05)
