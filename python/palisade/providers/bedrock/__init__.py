"""The Bedrock dialect: the Converse API (AWS binary event streams, SigV4-signed requests)."""

from palisade.providers.bedrock.dialect import BEDROCK
from palisade.providers.bedrock.surfaces import CONVERSE, CONVERSE_STREAM, SURFACES

__all__ = ["BEDROCK", "CONVERSE", "CONVERSE_STREAM", "SURFACES"]
