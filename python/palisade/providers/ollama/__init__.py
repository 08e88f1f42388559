"""Ollama's native API (`/api/chat`): what its clients speak, NDJSON streams included.

Ollama-native clients call the gateway's `/v1/ollama/api/chat`; their requests reach any
provider through OpenAI chat completions (`translation.OllamaToChat`, the first step of the
chain every other dialect reuses). Ollama servers themselves are reached as OpenAI-compatible
providers at `{OLLAMA_API_BASE}/v1` (the catalog's `ollama`): that API streams usage, lists
models at `/v1/models` and needs no dialect of its own on the provider side.
"""

from palisade.providers.ollama.dialect import OLLAMA
from palisade.providers.ollama.surfaces import OLLAMA_CHAT, SURFACES

__all__ = ["OLLAMA", "OLLAMA_CHAT", "SURFACES"]
