"""Gemini's API as surfaces: `generateContent`, `streamGenerateContent` and `countTokens`.

The model is in the path (`models/{model}:generateContent`), and so is streaming: the request
body names neither, and `set_model` has nothing to do. A stream is asked for with `?alt=sse`
(data-only events, each a `GenerateContentResponse` chunk); without it Google answers a JSON
array, which the gateway never asks for. `countTokens` counts a prompt and generates nothing;
its prompt is guarded like any other, since it reaches the provider.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from palisade._core import SseParser
from palisade.pricing import Usage
from palisade.providers.base import PathNamed, StreamParser
from palisade.providers.gemini import shape, stream, usage
from palisade.providers.gemini.dialect import GEMINI
from palisade.providers.parts import Parts, PartsSurface


@lru_cache(maxsize=4096)
def model_path(model: str, action: str) -> str:
    """`models/{model}:{action}`. The name came percent-decoded from the client's path: quoted
    again, so that no `?`, `#` or `/` in it can change the URL that leaves."""
    return f"models/{quote(model, safe='-._~:@!$&()*+,;=')}:{action}"


class GeminiSurface(PathNamed, PartsSurface):
    parts = Parts(shape, stream, usage, stream.GenerateGuard)
    dialect = GEMINI
    stream_type = "text/event-stream"

    def upstream_path(self, model: str, stream: bool) -> str:
        if stream:
            return model_path(model, "streamGenerateContent") + "?alt=sse"
        return model_path(model, "generateContent")

    def stream_parser(self) -> StreamParser:
        return SseParser()


class CountTokensSurface(GeminiSurface):
    def upstream_path(self, model: str, stream: bool) -> str:
        return model_path(model, "countTokens")

    def max_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return 0

    def usage(self, obj: dict[str, Any]) -> Usage | None:
        # `{"totalTokens": N}` is the answer, not a use: nothing was generated or billed.
        return Usage()


GENERATE = GeminiSurface("generateContent", streams=False)
STREAM_GENERATE = GeminiSurface("streamGenerateContent", streams=True)
COUNT_TOKENS = CountTokensSurface("countTokens", streams=False)
SURFACES = (GENERATE, STREAM_GENERATE, COUNT_TOKENS)
