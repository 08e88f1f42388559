"""The Ollama dialect: no credential of its own (a Bearer token where a proxy asks for one),
errors as `{"error": "..."}` (what the Ollama clients raise `ResponseError` on), and the same
object as a stream's last line."""

from __future__ import annotations

import orjson

from palisade.errors import GatewayError
from palisade.providers.bearer import BearerDialect


class OllamaDialect(BearerDialect):
    name = "ollama"

    def error_body(self, error: GatewayError) -> bytes:
        return orjson.dumps({"error": error.message})

    def error_event(self, error: GatewayError) -> bytes:
        return orjson.dumps({"error": error.message}) + b"\n"


OLLAMA = OllamaDialect()
