"""The Ollama dialect: no credential of its own (a Bearer token where a proxy asks for one),
errors as `{"error": "..."}` (what the Ollama clients raise `ResponseError` on), and the same
object as a stream's last line."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from palisade.errors import GatewayError
from palisade.providers.openai.dialect import bearer

_NONE: Mapping[str, str] = {}


class OllamaDialect:
    name = "ollama"
    credential_hint = "`Authorization: Bearer ...`"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        return bearer(headers)

    def error_type(self, error: GatewayError) -> str:
        return error.type

    def error_body(self, error: GatewayError) -> bytes:
        return orjson.dumps({"error": error.message})

    def error_event(self, error: GatewayError) -> bytes:
        return orjson.dumps({"error": error.message}) + b"\n"

    def upstream_headers(self) -> Mapping[str, str]:
        return _NONE


OLLAMA = OllamaDialect()
