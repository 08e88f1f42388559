"""The Converse API's two endpoints: `model/{modelId}/converse` and `.../converse-stream`. The
model is in the path and the endpoint says whether the answer streams; streams are AWS binary
event streams, parsed and framed by the Rust extension."""

from __future__ import annotations

from urllib.parse import quote

from palisade._core import EventStreamParser
from palisade.providers.base import PathNamed, StreamParser
from palisade.providers.bedrock import shape, stream, usage
from palisade.providers.bedrock.dialect import BEDROCK
from palisade.providers.parts import Parts, PartsSurface

EVENT_STREAM = "application/vnd.amazon.eventstream"


_PATHS: dict[tuple[str, str], str] = {}
_PATHS_LIMIT = 4096


def model_path(model: str, action: str) -> str:
    """Model ids hold `:` and ARNs `/`: one path segment, percent-encoded as boto3 sends it.
    Cached: `quote` cost 3 us a request."""
    path = _PATHS.get((model, action))
    if path is None:
        segment = quote(model, safe="")
        if segment in (".", ".."):  # never a dot segment: it would climb to another path
            segment = segment.replace(".", "%2E")
        path = f"model/{segment}/{action}"
        if len(_PATHS) < _PATHS_LIMIT:
            _PATHS[(model, action)] = path
    return path


class ConverseSurface(PathNamed, PartsSurface):
    parts = Parts(shape, stream, usage, stream.ConverseGuard)
    dialect = BEDROCK
    stream_type = EVENT_STREAM

    def upstream_path(self, model: str, stream: bool) -> str:
        return model_path(model, "converse-stream" if stream else "converse")

    def stream_parser(self) -> StreamParser:
        return EventStreamParser()


CONVERSE = ConverseSurface("converse", streams=False)
CONVERSE_STREAM = ConverseSurface("converse-stream", streams=True)
SURFACES = (CONVERSE, CONVERSE_STREAM)
