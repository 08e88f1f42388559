"""Stage 1: size, content type and JSON shape, before anything else looks at the request."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, assert_never

import orjson
from starlette.requests import Request

from palisade._core import json_shape
from palisade.config import FirewallConfig
from palisade.errors import BadRequest, UnsupportedMediaType
from palisade.exchange import Body, BodyTooLarge


def read_body(request: Request, body: Body, config: FirewallConfig) -> Awaitable[bytes]:
    """The whole body, up to `max_body_bytes`. A declared length over it is refused before a
    byte is read; the exchange closes the connection on such an answer. The read deadline is
    the exchange's (`BodyTimeout`). A plain function: the read is `Body.read`'s one frame."""
    limit = config.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BadRequest("Palisade: the Content-Length header is not a number.") from None
        if size > limit:
            raise BodyTooLarge(limit)
    return body.read(limit)


def check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        shown = media or "none"
        raise UnsupportedMediaType(
            "Palisade: the request body must be JSON (Content-Type: application/json), "
            f"got {shown}."
        )


# A repeated key is echoed (keys name fields, they are not the user's text) up to this length.
_SHOWN_KEY_CHARS = 64


def check_shape(raw: bytes, config: FirewallConfig) -> None:
    """Runs before parsing, on the bytes the gateway forwards. A body of nested brackets is
    refused at the cost of a byte scan that stops at the first bracket over the limit. What
    parsers read differently is refused too, since the guardrails judge orjson's reading and
    the provider makes its own: a repeated key (orjson keeps the last, some parsers the first)
    and a NUL escape (text that passes through C strings ends at it)."""
    limit = config.max_json_depth
    fault = json_shape(raw, limit)
    if fault is None:
        return
    match fault.kind:
        case "too_deep":
            raise BadRequest(
                "Palisade: the request JSON nests objects and arrays more than "
                f"{limit} levels deep, the gateway's limit.",
                code="json_too_deep",
            )
        case "duplicate_key":
            key = (fault.key or "")[:_SHOWN_KEY_CHARS]
            raise BadRequest(
                f"Palisade: the request JSON repeats the key `{key}` in one object; duplicate "
                "keys are refused because parsers disagree on which one wins.",
                param=key,
                code="duplicate_key",
            )
        case "nul_escape":
            raise BadRequest(
                "Palisade: the request JSON contains the escape \\u0000 (a NUL character), "
                "which the gateway does not accept: a parser that stops at a NUL would read "
                "less than the gateway checked.",
                code="invalid_json",
            )
        case _:
            assert_never(fault.kind)


# Chat counts `messages`, the Responses API `input` items. An embeddings `input` list is
# counted too, under a limit whose default equals OpenAI's own cap of 2048 inputs. A value of
# the wrong type is left to the upstream's validation.
_MESSAGE_LISTS = ("messages", "input")


def check_messages(body: dict[str, Any], config: FirewallConfig) -> None:
    limit = config.max_messages
    for key in _MESSAGE_LISTS:
        items = body.get(key)
        if isinstance(items, list) and len(items) > limit:
            raise BadRequest(
                f"Palisade: `{key}` has {len(items)} items; the gateway's limit is {limit}.",
                param=key,
                code="too_many_messages",
            )


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise BadRequest(
            "Palisade: the request body is empty; a JSON object is expected.", code="invalid_json"
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            f"Palisade: the request body is not valid JSON ({exc.msg} at position {exc.pos}).",
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("Palisade: the request body must be a JSON object.", code="invalid_json")
    return body
