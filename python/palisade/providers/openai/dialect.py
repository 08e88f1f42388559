"""The OpenAI dialect: `Authorization: Bearer` credentials, `{"error": {...}}` errors, and an
`error` event as a stream's last word (the SDKs raise on it)."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from palisade.errors import GatewayError


def bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


_NONE: Mapping[str, str] = {}


class OpenAIDialect:
    name = "openai"
    credential_hint = "`Authorization: Bearer ...`"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        return bearer(headers)

    def error_type(self, error: GatewayError) -> str:
        return error.type

    def error_body(self, error: GatewayError) -> bytes:
        return orjson.dumps(error.body())

    def error_event(self, error: GatewayError) -> bytes:
        return b"data: " + orjson.dumps(error.body()) + b"\n\n"

    def upstream_headers(self) -> Mapping[str, str]:
        return _NONE


OPENAI = OpenAIDialect()
