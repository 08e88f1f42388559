"""Bearer tokens (`Authorization: Bearer ...`), the credential the clients of most dialects
present, and a base for the dialects that take no other, send providers no header of their own
and type their errors with the gateway's own type (OpenAI, Cohere, Ollama)."""

from __future__ import annotations

from collections.abc import Mapping

from palisade.errors import GatewayError

_NONE: Mapping[str, str] = {}


def bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class BearerDialect:
    credential_hint = "`Authorization: Bearer ...`"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        return bearer(headers)

    def error_type(self, error: GatewayError) -> str:
        return error.type

    def upstream_headers(self) -> Mapping[str, str]:
        return _NONE
