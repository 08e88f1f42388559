"""Attribution headers: on whose behalf a call is made (agent, user, session, execution).

`X-Archestra-Agent-Id`, `-User-Id`, `-Session-Id`, `-Execution-Id` and the composite
`X-Archestra-Meta: <agent-id>/<execution-id>/<session-id>`, each also under `X-Palisade-`. The
single headers win over the composite; an empty Meta segment sets nothing. An id holding `/`
is refused, since it could not be written as Meta. User-Id is attribution only: an
authenticated identity (stage 2) wins over it.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers

from palisade.errors import BadRequest

_PREFIXES = ("x-archestra-", "x-palisade-")
# ASGI servers hand header names over lowercased.
_RAW_PREFIXES = tuple(p.encode() for p in _PREFIXES)
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
_SUFFIXES = frozenset((*_FIELDS, "meta"))
_NOBODY = Attribution()


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


def _collect(headers: Headers) -> dict[str, tuple[int, str, str]] | None:
    """Suffix -> (prefix rank, header name, value) of the attribution headers, in one pass over
    the raw headers (ten lookups would walk them ten times). `X-Archestra-` (rank 0) wins over
    `X-Palisade-`; of repeated headers the first counts."""
    found: dict[str, tuple[int, str, str]] | None = None
    for raw_name, raw_value in headers.raw:
        if not raw_name.startswith(_RAW_PREFIXES):
            continue
        name = raw_name.decode("latin-1")
        rank = 0 if raw_name.startswith(_RAW_PREFIXES[0]) else 1
        suffix = name[len(_PREFIXES[rank]) :]
        if suffix not in _SUFFIXES:
            continue
        if found is None:
            found = {}
        held = found.get(suffix)
        if held is None or rank < held[0]:
            found[suffix] = (rank, name, raw_value.decode("latin-1").strip())
    return found


def parse_attribution(headers: Headers) -> Attribution:
    found = _collect(headers)
    if found is None:
        return _NOBODY
    values: dict[str, str | None] = {}
    meta = found.get("meta")
    if meta is not None:
        _, name, value = meta
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
        single = found.get(suffix)
        if single is not None:
            checked = _check(single[1], single[2])
            if checked is not None:
                values[field_name] = checked
    return Attribution(**{k: v for k, v in values.items() if v is not None})
