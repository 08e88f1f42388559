"""The protocol-faithful mock provider (`palisade mock-upstream`): OpenAI's, Anthropic's and
Cohere's APIs.

It is the only fake in the project: the gateway's end-to-end tests, the offline demo and the
benchmarks all talk to it, so every answer must parse into the official SDKs' typed models.
One module per endpoint and per dialect's surroundings: `chat`, `completions`, `embeddings`,
`responses`, `models` and `openai_dialect` for OpenAI; `anthropic` (messages, count_tokens),
`anthropic_request`, `anthropic_stream`, `anthropic_models`, `anthropic_errors` and
`anthropic_dialect` for Anthropic; `cohere` (v2 chat, embed), `cohere_answer`, `cohere_stream`,
`cohere_errors` and `cohere_dialect` for Cohere; the content, tools, knobs, failures and
recorder are shared.
"""

from palisade.mock.app import create_mock_app
from palisade.mock.settings import MockSettings

__all__ = ["MockSettings", "create_mock_app"]
