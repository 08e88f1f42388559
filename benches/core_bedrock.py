"""Bedrock's in-process costs, single-threaded: SigV4 signing per request (the Rust signer, the
connection around it, and botocore's `SigV4Auth` for comparison) and the AWS event stream per
event (framing and parsing a Converse stream of text deltas).

CPU time is what the targets are checked against (issue 17: signing <= 20 us per request, the
event stream <= 2 us per event); the best and the median of several repeats are shown. Prints a
table and writes `bench-results/core_bedrock.json`. Benches report, tests assert: the exit code
is 0 even when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from palisade._core import EventStreamParser, SigV4Signer, frame_event
from palisade.providers.bedrock import CONVERSE
from palisade.providers.bedrock.connection import SigV4Connection
from palisade.providers.provider import ProviderConfig

RESULTS = Path("bench-results") / "core_bedrock.json"
SIGN_TARGET_US = 20.0
EVENT_TARGET_US = 2.0
HOST = "bedrock-runtime.us-east-1.amazonaws.com"
PATH = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
# A short chat turn as a Converse body (about 600 bytes).
BODY = orjson.dumps(
    {
        "system": [{"text": "You are a concise assistant for a logistics company."}],
        "messages": [
            {"role": "user", "content": [{"text": "Summarise order 4411's delivery status. " * 8}]}
        ],
        "inferenceConfig": {"maxTokens": 200, "temperature": 0.3},
    }
)
DATE = "20261205T120000Z"


def per_call_us(fn: Callable[[], object], n: int, repeats: int) -> list[float]:
    fn()
    out = []
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(n):
            fn()
        out.append((time.process_time() - started) / n * 1e6)
    return out


def signing(repeats: int) -> dict[str, list[float]]:
    signer = SigV4Signer("AKIDEXAMPLE", "secret", "us-east-1", "bedrock")
    headers = [("content-type", "application/json"), ("host", HOST), ("x-amz-date", DATE)]
    provider = ProviderConfig(
        name="bedrock",
        kind="bedrock",
        dialects=("bedrock",),
        base_url=f"https://{HOST}",
        options={"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"},
    )
    connection = SigV4Connection(provider)
    asyncio.run(connection.start())
    url = connection.url(CONVERSE, "anthropic.claude-3-5-haiku-20241022-v1:0", stream=False)

    def connect() -> None:
        connection.authorize({"content-type": "application/json"}, url, BODY, None)

    boto = SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "bedrock", "us-east-1")

    def botocore_sign() -> None:
        request = AWSRequest(
            method="POST", url=f"https://{HOST}{PATH}", data=BODY, headers={"content-type": "x"}
        )
        boto.add_auth(request)

    return {
        "rust signer": per_call_us(
            lambda: signer.authorization("POST", PATH, "", headers, BODY, DATE), 20000, repeats
        ),
        "connection.authorize": per_call_us(connect, 20000, repeats),
        "botocore SigV4Auth": per_call_us(botocore_sign, 2000, repeats),
    }


def event_stream(repeats: int) -> dict[str, list[float]]:
    payloads = [
        orjson.dumps({"delta": {"text": f" word{i}"}, "contentBlockIndex": 0}) for i in range(5000)
    ]
    stream = b"".join(frame_event("contentBlockDelta", p) for p in payloads)
    chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]

    def frame_all() -> None:
        for p in payloads:
            frame_event("contentBlockDelta", p)

    def parse_all() -> None:
        parser = EventStreamParser()
        for chunk in chunks:
            for event in parser.feed(chunk):
                _ = event.data
        parser.finish()

    n = len(payloads)
    return {
        "frame an event": [t / n for t in per_call_us(frame_all, 1, repeats)],
        "parse an event (4 KiB chunks)": [t / n for t in per_call_us(parse_all, 1, repeats)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    rows: list[dict[str, object]] = []
    for group, target, results in (
        ("sign", SIGN_TARGET_US, signing(args.repeats)),
        ("event", EVENT_TARGET_US, event_stream(args.repeats)),
    ):
        for case, runs in results.items():
            judged = not case.startswith("botocore")
            rows.append(
                {
                    "case": case,
                    "cpu_best_us": round(min(runs), 2),
                    "cpu_median_us": round(statistics.median(runs), 2),
                    "target_us": target if judged else None,
                    "met": statistics.median(runs) <= target if judged else None,
                    "group": group,
                }
            )
    print(f"Bedrock in process, CPU time, {args.repeats} runs")
    print(f"{'case':<32}{'best us':>10}{'median us':>11}  target")
    for r in rows:
        verdict = "" if r["met"] is None else ("ok" if r["met"] else "MISSED")
        shown = "" if r["target_us"] is None else f"<= {r['target_us']} {verdict}"
        print(f"{r['case']:<32}{r['cpu_best_us']:>10}{r['cpu_median_us']:>11}  {shown}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"bench": "core_bedrock", "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
