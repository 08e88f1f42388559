"""The OpenAI dialect: `Authorization: Bearer` credentials, `{"error": {...}}` errors, and an
`error` event as a stream's last word (the SDKs raise on it)."""

from __future__ import annotations

import orjson

from palisade.errors import GatewayError
from palisade.providers.bearer import BearerDialect


class OpenAIDialect(BearerDialect):
    name = "openai"

    def error_body(self, error: GatewayError) -> bytes:
        return orjson.dumps(error.body())

    def error_event(self, error: GatewayError) -> bytes:
        return b"data: " + orjson.dumps(error.body()) + b"\n\n"


OPENAI = OpenAIDialect()
