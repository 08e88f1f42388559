"""Server-wide defaults of the mock; each request may override them with its `mock` knobs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

SETTINGS_ENV = "PALISADE_MOCK_SETTINGS"


@dataclass(frozen=True)
class MockSettings:
    latency_ms: float = 0
    """Delay before a non-stream answer, or before the first stream chunk is computed."""
    ttft_ms: float = 0
    """Extra delay before the first stream chunk."""
    chunks: int = 8
    """Content chunks per stream."""
    chunk_interval_ms: float = 0
    """Delay between two stream chunks."""
    api_key: str | None = None
    """When set, requests must carry `Authorization: Bearer <api_key>` (Anthropic's routes also
    take `x-api-key: <api_key>`)."""
    record: int = 1000
    """How many received requests `/_mock/requests` keeps (per worker)."""
    aws_access_key_id: str = "AKIDPALISADETEST"
    """The test credentials whose SigV4 signature the Bedrock side requires on every request."""
    aws_secret_access_key: str = "palisade-mock-aws-secret"  # noqa: S105 (a test secret)
    jwks_file: str | None = None
    """A JWKS document served at `/_mock/jwks.json`, read on every request (a test rotates
    keys by rewriting the file), so the mock can stand in for an identity provider."""
    scenarios_file: str | None = None
    """A JSON object of scenarios (name -> behaviour, as `PUT /_mock/scenarios/{name}` takes),
    set in every worker at start: a `PUT` reaches one worker only."""

    def __post_init__(self) -> None:
        for name in ("latency_ms", "ttft_ms", "chunk_interval_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"mock setting {name} must be a number >= 0, got {value!r}")
        for name, low in (("chunks", 1), ("record", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"mock setting {name} must be an integer >= {low}, got {value!r}")
        if self.api_key is not None and not isinstance(self.api_key, str):
            raise ValueError(f"mock setting api_key must be a string, got {self.api_key!r}")

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> MockSettings:
        data: Any = orjson.loads(text)
        if not isinstance(data, dict):
            raise ValueError("mock settings must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown mock settings: {', '.join(unknown)}")
        return cls(**data)
