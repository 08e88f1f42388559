"""The protocol-faithful OpenAI-compatible mock provider (`palisade mock-upstream`).

It is the only fake in the project: the gateway's end-to-end tests, the offline demo and the
benchmarks all talk to it, so every answer must parse into the official SDK's typed models.
"""

from palisade.mock.app import create_mock_app
from palisade.mock.settings import MockSettings

__all__ = ["MockSettings", "create_mock_app"]
