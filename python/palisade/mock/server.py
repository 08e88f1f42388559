"""`palisade mock-upstream`: serve the mock on Granian."""

from __future__ import annotations

import argparse
import os

from palisade.mock.knobs import Knobs
from palisade.mock.scenarios import preload
from palisade.mock.settings import SETTINGS_ENV, MockSettings

TARGET = "palisade.mock.app:app_from_env"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9100, help="port to bind (default 9100)")
    parser.add_argument("--workers", type=int, default=1, help="Granian workers (default 1)")
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="delay before an answer or first chunk"
    )
    parser.add_argument(
        "--ttft-ms", type=float, default=0, help="extra delay before the first stream chunk"
    )
    parser.add_argument("--chunks", type=int, default=8, help="content chunks per stream")
    parser.add_argument(
        "--chunk-interval-ms", type=float, default=0, help="delay between stream chunks"
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' (or, on Anthropic's routes, 'x-api-key: KEY'); "
        "default: any key",
    )
    parser.add_argument(
        "--aws-access-key-id",
        default=MockSettings.aws_access_key_id,
        help="Bedrock: the access key whose SigV4 signature every request must carry "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--aws-secret-access-key",
        default=MockSettings.aws_secret_access_key,
        help="Bedrock: that key's secret (default: the test secret of palisade.yaml)",
    )
    parser.add_argument(
        "--jwks-file", default=None, help="serve this JWKS file at /_mock/jwks.json"
    )
    parser.add_argument(
        "--scenarios",
        default=None,
        metavar="FILE",
        help="a JSON object of scenarios (name -> behaviour) every worker starts with",
    )


def settings_from_args(args: argparse.Namespace) -> MockSettings:
    return MockSettings(
        latency_ms=args.latency_ms,
        ttft_ms=args.ttft_ms,
        chunks=args.chunks,
        chunk_interval_ms=args.chunk_interval_ms,
        api_key=args.api_key,
        jwks_file=args.jwks_file,
        aws_access_key_id=args.aws_access_key_id,
        aws_secret_access_key=args.aws_secret_access_key,
        scenarios_file=args.scenarios,
    )


def main(args: argparse.Namespace) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    # Workers are separate processes: the environment is how the settings reach the factory.
    settings = settings_from_args(args)
    if settings.scenarios_file is not None:
        # Refused here, once, rather than by every worker as it starts.
        try:
            preload(settings.scenarios_file, Knobs.defaults(settings))
        except ValueError as error:
            raise SystemExit(f"palisade mock-upstream: {error}") from None
    os.environ[SETTINGS_ENV] = settings.to_json()
    Server(
        target=TARGET,
        factory=True,
        interface=Interfaces.ASGI,
        address=args.host,
        port=args.port,
        workers=args.workers,
        websockets=False,
        log_access=False,
    ).serve()
