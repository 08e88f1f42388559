"""The rate-limit headers a provider's 429 carries besides `retry-after`, derived from the
`retry_after` knob, so that a gateway's retry can honour the provider's own reset headers.

OpenAI sends `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, the resets as Go-style
durations ("1s", "6m0s", "12ms"); Anthropic sends `anthropic-ratelimit-{requests,tokens,
input-tokens,output-tokens}-{limit,remaining,reset}`, the resets as RFC 3339 instants. A
`retry_after` that is not a number of seconds (an HTTP date) gets `retry-after` alone.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

_REQUESTS_LIMIT = "500"
_TOKENS_LIMIT = "200000"


def _seconds(retry_after: str) -> float | None:
    try:
        value = float(retry_after)
    except ValueError:
        return None
    return value if value >= 0 else None


def duration(seconds: float) -> str:
    """Go's `time.Duration` text, as OpenAI writes its resets."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


def openai_headers(retry_after: str) -> dict[str, str]:
    headers = {"retry-after": retry_after}
    seconds = _seconds(retry_after)
    if seconds is None:
        return headers
    reset = duration(seconds)
    headers.update(
        {
            "x-ratelimit-limit-requests": _REQUESTS_LIMIT,
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": reset,
            "x-ratelimit-limit-tokens": _TOKENS_LIMIT,
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": reset,
        }
    )
    return headers


def anthropic_headers(retry_after: str) -> dict[str, str]:
    headers = {"retry-after": retry_after}
    seconds = _seconds(retry_after)
    if seconds is None:
        return headers
    # Rounded up to the second, so that waiting until the reset never comes too early.
    at = datetime.fromtimestamp(math.ceil(time.time() + seconds), UTC)
    reset = at.isoformat().replace("+00:00", "Z")
    headers["anthropic-ratelimit-requests-limit"] = _REQUESTS_LIMIT
    headers["anthropic-ratelimit-requests-remaining"] = "0"
    headers["anthropic-ratelimit-requests-reset"] = reset
    for kind in ("tokens", "input-tokens", "output-tokens"):
        headers[f"anthropic-ratelimit-{kind}-limit"] = _TOKENS_LIMIT
        headers[f"anthropic-ratelimit-{kind}-remaining"] = "0"
        headers[f"anthropic-ratelimit-{kind}-reset"] = reset
    return headers
