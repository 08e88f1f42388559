"""Attribution headers: on whose behalf a call is made (agent, user, session, execution).

`X-Archestra-Agent-Id`, `-User-Id`, `-Session-Id`, `-Execution-Id` and the composite
`X-Archestra-Meta: <agent-id>/<execution-id>/<session-id>`, each also under `X-Palisade-`. The
single headers win over the composite; an empty Meta segment sets nothing. An id holding `/`
is refused, since it could not be written as Meta. User-Id is attribution only: an
authenticated identity (stage 2) wins over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from palisade.errors import BadRequest

_PREFIXES = ("x-archestra-", "x-palisade-")
_MAX_ID_LEN = 256


@dataclass(frozen=True, slots=True)
class Attribution:
    agent_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    execution_id: str | None = None


_FIELDS = {
    "agent-id": "agent_id",
    "user-id": "user_id",
    "session-id": "session_id",
    "execution-id": "execution_id",
}
# Meta segments in order.
_META = ("agent_id", "execution_id", "session_id")


def _header(headers: Mapping[str, str], name: str) -> tuple[str, str] | None:
    for prefix in _PREFIXES:
        value = headers.get(prefix + name)
        if value is not None:
            return prefix + name, value.strip()
    return None


def _check(header: str, value: str) -> str | None:
    if not value:
        return None
    if "/" in value:
        raise BadRequest(
            f"Palisade: the `{header}` header may not contain `/` "
            "(an id must fit one segment of X-Archestra-Meta).",
            code="invalid_attribution_header",
        )
    if len(value) > _MAX_ID_LEN or not value.isprintable():
        raise BadRequest(
            f"Palisade: the `{header}` header must be printable and at most {_MAX_ID_LEN} "
            "characters.",
            code="invalid_attribution_header",
        )
    return value


def parse_attribution(headers: Mapping[str, str]) -> Attribution:
    """Reads the attribution headers (case-insensitive `headers`, e.g. Starlette's)."""
    values: dict[str, str | None] = {}
    meta = _header(headers, "meta")
    if meta is not None:
        name, value = meta
        segments = value.split("/")
        if len(segments) > len(_META):
            raise BadRequest(
                f"Palisade: `{name}` has {len(segments)} segments; it is "
                "`<agent-id>/<execution-id>/<session-id>` (an id may not contain `/`).",
                code="invalid_attribution_header",
            )
        for field_name, segment in zip(_META, segments, strict=False):
            values[field_name] = _check(name, segment.strip())
    for suffix, field_name in _FIELDS.items():
        single = _header(headers, suffix)
        if single is not None:
            checked = _check(*single)
            if checked is not None:
                values[field_name] = checked
    return Attribution(**{k: v for k, v in values.items() if v is not None})
