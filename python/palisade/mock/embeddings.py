"""`POST /v1/embeddings`: deterministic unit vectors, as floats or base64 float32."""

from __future__ import annotations

import base64
import hashlib
import math
import sys
from array import array
from functools import lru_cache
from typing import Any

from starlette.responses import Response

from palisade.mock import params
from palisade.mock.content import count_tokens
from palisade.mock.errors import InvalidRequest
from palisade.mock.knobs import Knobs
from palisade.mock.sse import pause
from palisade.mock.usage import embeddings_usage

MAX_DIMENSIONS = 8192
_UINT32 = float(1 << 32)


def default_dimensions(model: str) -> int:
    return 3072 if "large" in model else 1536


def _inputs(body: dict[str, Any]) -> list[tuple[str, int]]:
    """Each input's seed text and token count (token-id inputs count one token per id)."""
    value = body.get("input")
    if value is None:
        raise InvalidRequest(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    if isinstance(value, str):
        return [(value, count_tokens(value))]
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return [(v, count_tokens(v)) for v in value]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return [(_ids_text(value), len(value))]
        if all(isinstance(v, list) and v and all(isinstance(t, int) for t in v) for v in value):
            return [(_ids_text(v), len(v)) for v in value]
    raise InvalidRequest(
        "'input' must be a string, an array of strings, an array of tokens or of token arrays.",
        "input",
        "invalid_type",
    )


def _ids_text(ids: list[Any]) -> str:
    return "\x00ids:" + ",".join(map(str, ids))


@lru_cache(maxsize=1024)
def vector(text: str, dimensions: int) -> array[float]:
    """A unit vector in float32, seeded by `text` and `dimensions` only."""
    raw = hashlib.shake_256(f"{dimensions}\x00{text}".encode("utf-8", "surrogatepass"))
    ints = array("I", raw.digest(4 * dimensions))
    values = [v / _UINT32 - 0.5 for v in ints]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return array("f", [v / norm for v in values])


def _encode(vec: array[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vec.tolist()
    data = vec
    if sys.byteorder == "big":
        data = array("f", vec)
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode()


async def embeddings(body: dict[str, Any], knobs: Knobs) -> Response:
    model = params.model(body)
    inputs = _inputs(body)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise InvalidRequest(
            "Invalid 'encoding_format': expected 'float' or 'base64'.",
            "encoding_format",
            "invalid_value",
        )
    dimensions = params.optional_int(body, "dimensions", 1, MAX_DIMENSIONS)
    dimensions = dimensions or default_dimensions(model)
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": _encode(vector(text, dimensions), encoding),
        }
        for i, (text, _) in enumerate(inputs)
    ]
    await pause(knobs.latency_ms)
    return params.json_response(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": embeddings_usage(sum(tokens for _, tokens in inputs)),
        }
    )
