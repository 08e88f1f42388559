"""Setting the mock's scenarios from a test: one mock process plays several deployments, each
under its own base URL prefix (`/_s/{name}`), failing or slowing as the test says at run time.
See `palisade.mock.scenarios` for the behaviours."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx


def scenario_url(mock_url: str, name: str, path: str = "") -> str:
    """The base URL of deployment `name` on the mock: `path` is the dialect's root (`/v1` for
    OpenAI's, `/v1beta` for Gemini's, empty for Anthropic's, Cohere's or Bedrock's)."""
    return f"{mock_url}/_s/{name}{path}"


def set_scenario(mock_url: str, name: str, **behaviour: Any) -> dict[str, Any]:
    """Replaces the behaviour of `name` (counters kept); no arguments: it behaves."""
    response = httpx.put(f"{mock_url}/_mock/scenarios/{name}", json=behaviour, timeout=10)
    response.raise_for_status()
    view: dict[str, Any] = response.json()
    return view


def scenario(mock_url: str, name: str) -> dict[str, Any]:
    """Its behaviour and counters: `requests`, `injected`, `outcomes`, `fail_times_left`."""
    response = httpx.get(f"{mock_url}/_mock/scenarios/{name}", timeout=10)
    response.raise_for_status()
    view: dict[str, Any] = response.json()
    return view


def reset_scenarios(mock_url: str) -> None:
    httpx.delete(f"{mock_url}/_mock/scenarios", timeout=10).raise_for_status()


def scenarios(mock_url: str) -> dict[str, dict[str, Any]]:
    """Every scenario the mock has seen, by name (a prefix counts once it is called)."""
    response = httpx.get(f"{mock_url}/_mock/scenarios", timeout=10)
    response.raise_for_status()
    views: dict[str, dict[str, Any]] = response.json()
    return views
