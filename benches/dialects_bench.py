"""The dialects in one run: the OpenAI route, the native Anthropic route, and both translations
(the model router from OpenAI chat to the Anthropic-dialect mock, the Anthropic route to the
OpenAI-dialect mock), through one gateway worker against the mock, at concurrency 32, whole
answers and streams. Scenarios alternate within each repeat, so machine noise spreads over all
of them alike; the gateway's CPU time per request is the stable figure (see http_bench).

Targets (issue 16): the native Anthropic route's throughput is at least 90% of the OpenAI
route's; (issue 17) the native Gemini route's and the Bedrock Converse route's (boto3's
requests, SigV4-signed by the gateway and checked by the mock; streams in AWS's binary framing)
at least 85%; the model router to each is reported. The in-process cost of translation itself is
`translate_bench.py`'s, of signing and framing `core_bedrock.py`'s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from http_bench import (
    LOAD_CPU,
    SERVER_CPU,
    Run,
    Server,
    bench_arguments,
    describe,
    enter_load_cpu,
    free_port,
    gateway_server,
    measure,
    mock_server,
    palisade_cli,
    parse_bench_args,
    request,
    show_logs,
    wrk_script,
)

CONNECTIONS = 32
TARGET_NATIVE_RATIO = 0.9
_MESSAGES = [
    {"role": "system", "content": "You are a concise assistant for a logistics company."},
    {"role": "user", "content": "Summarise the delivery status of order 4411 in two sentences."},
]
_OPENAI_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer bench-key"}
_ANTHROPIC_HEADERS = {
    "Content-Type": "application/json",
    "x-api-key": "bench-key",
    "anthropic-version": "2023-06-01",
}
_HEADERS = {
    "openai": _OPENAI_HEADERS,
    "anthropic": _ANTHROPIC_HEADERS,
    "gemini": {"Content-Type": "application/json", "x-goog-api-key": "bench-key"},
    # A Bedrock client presents a virtual key as a bearer token, as boto3 does with
    # AWS_BEARER_TOKEN_BEDROCK.
    "converse": _OPENAI_HEADERS,
}


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    model: str
    # The client's API: openai, anthropic, gemini (the model and streaming in the path: `path`
    # holds `{model}` and `{action}`) or converse (Bedrock's: the stream by the endpoint).
    client: str = "openai"

    def url_path(self, stream: bool) -> str:
        if self.client == "gemini":
            action = "streamGenerateContent?alt=sse" if stream else "generateContent"
            return self.path.format(model=self.model, action=action)
        if self.client == "converse" and stream:
            return f"{self.path}-stream"
        return self.path

    def body(self, stream: bool) -> bytes:
        body: dict[str, Any]
        if self.client == "gemini":
            body = {
                "systemInstruction": {"parts": [{"text": _MESSAGES[0]["content"]}]},
                "contents": [{"role": "user", "parts": [{"text": _MESSAGES[1]["content"]}]}],
                "generationConfig": {"maxOutputTokens": 200, "temperature": 0.3},
            }
        elif self.client == "converse":
            body = {
                "system": [{"text": _MESSAGES[0]["content"]}],
                "messages": [{"role": "user", "content": [{"text": _MESSAGES[1]["content"]}]}],
                "inferenceConfig": {"maxTokens": 200, "temperature": 0.3},
            }
        else:
            body = {"model": self.model, "max_tokens": 200, "temperature": 0.3}
            if self.client == "anthropic":
                body["system"] = _MESSAGES[0]["content"]
                body["messages"] = _MESSAGES[1:]
            else:
                body["messages"] = _MESSAGES
            if stream:
                body["stream"] = True
        return json.dumps(body, separators=(",", ":")).encode()

    def headers(self) -> dict[str, str]:
        return _HEADERS[self.client]


CASES = (
    Case("openai route -> openai", "/v1/chat/completions", "gpt-4o-mini"),
    Case(
        "anthropic route -> anthropic", "/v1/anthropic/v1/messages", "claude-haiku-4-5", "anthropic"
    ),
    Case("model router -> anthropic", "/v1/model-router/chat/completions", "claude-haiku-4-5"),
    Case("anthropic route -> openai", "/v1/anthropic/v1/messages", "gpt-4o-mini", "anthropic"),
    Case(
        "gemini route -> gemini",
        "/v1/gemini/v1beta/models/{model}:{action}",
        "gemini-2.5-flash",
        "gemini",
    ),
    Case("model router -> gemini", "/v1/model-router/chat/completions", "gemini-2.5-flash"),
    Case(
        "bedrock route -> bedrock",
        "/v1/bedrock/model/mock-bedrock%3Abench/converse",
        "",
        "converse",
    ),
    Case("model router -> bedrock", "/v1/model-router/chat/completions", "mock-bedrock:bench"),
)
# The native routes and the share of the OpenAI route's throughput each must keep.
TARGETS = {CASES[1]: TARGET_NATIVE_RATIO, CASES[4]: 0.85, CASES[6]: 0.85}


@dataclass
class Result:
    runs: list[Run] = field(default_factory=list)

    def median(self, key: str) -> float:
        return float(statistics.median(float(getattr(r, key)) for r in self.runs))


def script(workdir: Path, case: Case, stream: bool) -> Path:
    path = workdir / f"{case.name.replace(' ', '_').replace('>', '')}_{stream}.lua"
    return wrk_script(path, case.body(stream), case.headers())


def gateway_yaml(port: int, mock_port: int) -> str:
    base = f"http://127.0.0.1:{mock_port}/v1"
    return (
        f"server: {{host: 127.0.0.1, port: {port}, workers: 1}}\n"
        f"store: {{sqlite_path: '{tempfile.gettempdir()}/palisade-dialects-{port}.db'}}\n"
        "auto_providers: false\n"
        "logging: {enabled: false}\nmetrics: {enabled: false}\n"
        "providers:\n"
        f"  mock: {{base_url: '{base}', api_key: mock-key, models: ['gpt-*']}}\n"
        f"  mock-anthropic: {{kind: anthropic, base_url: '{base}', api_key: mock-key,"
        " models: ['claude-*']}\n"
        f"  mock-gemini: {{kind: gemini, base_url: '{base}beta', api_key: mock-key,"
        " models: ['gemini-*']}\n"
        f"  mock-bedrock: {{kind: bedrock, base_url: '{base}', region: us-east-1,"
        " aws_access_key_id: AKIDPALISADETEST, aws_secret_access_key: palisade-mock-aws-secret}\n"
    )


def check(port: int, case: Case, stream: bool) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", case.url_path(stream), case.body(stream), case.headers())
        answer = conn.getresponse()
        text = answer.read()
    finally:
        conn.close()
    if answer.status != 200:
        raise RuntimeError(f"{case.name}: status {answer.status}: {text[:400]!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_arguments(__doc__, "dialects_bench.json")
    args = parse_bench_args(parser, argv)
    enter_load_cpu()
    palisade = palisade_cli()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="palisade-bench-")))
        mock_port, gw_port = free_port(), free_port()
        config = workdir / "gateway.yaml"
        config.write_text(gateway_yaml(gw_port, mock_port))
        mock = stack.enter_context(mock_server(palisade, mock_port, workdir))
        gateway = stack.enter_context(gateway_server(palisade, config, gw_port, workdir))
        try:
            return bench(args, mock, gateway, workdir)
        except Exception:
            show_logs([mock, gateway])
            raise
    return 1


def bench(args: argparse.Namespace, mock: Server, gateway: Server, workdir: Path) -> int:
    for case in CASES:
        for stream in (False, True):
            check(gateway.port, case, stream)
    assert request(mock.port, "GET", "/v1/models")[0] == 200
    mock.pin(LOAD_CPU)
    gateway.pin(SERVER_CPU)
    scripts = {(c, s): script(workdir, c, s) for c in CASES for s in (False, True)}
    results: dict[tuple[Case, bool], Result] = {key: Result() for key in scripts}
    started = time.monotonic()
    for (case, stream), path in scripts.items():  # warm-up
        measure(
            gateway,
            f"http://127.0.0.1:{gateway.port}{case.url_path(stream)}",
            path,
            connections=CONNECTIONS,
            duration_s=args.warmup,
        )
    for repeat in range(args.repeats):
        for (case, stream), path in scripts.items():
            run = measure(
                gateway,
                f"http://127.0.0.1:{gateway.port}{case.url_path(stream)}",
                path,
                connections=CONNECTIONS,
                duration_s=args.duration,
            )
            results[(case, stream)].runs.append(run)
            kind = "stream" if stream else "whole "
            print(f"[{repeat + 1}] {kind} {case.name:32s} {describe(run)}", flush=True)
    report: dict[str, Any] = {"connections": CONNECTIONS, "elapsed_s": time.monotonic() - started}
    failed = False
    print(f"\nmedians of {args.repeats} runs, c={CONNECTIONS}, one gateway worker:")
    for stream in (False, True):
        base = results[(CASES[0], stream)]
        for case in CASES:
            r = results[(case, stream)]
            ratio = r.median("rps") / base.median("rps")
            delta = r.median("cpu_us_per_req") - base.median("cpu_us_per_req")
            kind = "stream" if stream else "whole"
            print(
                f"  {kind:6s} {case.name:32s} {r.median('rps'):8.0f} req/s "
                f"({ratio:5.1%} of the OpenAI route)  cpu {r.median('cpu_us_per_req'):5.0f} "
                f"us/req ({delta:+5.0f})"
            )
            report[f"{kind}/{case.name}"] = {
                "rps": r.median("rps"),
                "cpu_us_per_req": r.median("cpu_us_per_req"),
                "p50_ms": r.median("p50_ms"),
                "p99_ms": r.median("p99_ms"),
                "ratio_to_openai_route": ratio,
                "errors": sum(run.errors for run in r.runs),
            }
            if ratio < TARGETS.get(case, 0.0):
                failed = True
            if any(run.errors for run in r.runs):
                failed = True
    print(
        "target: "
        + ", ".join(f"{case.name} >= {ratio:.0%}" for case, ratio in TARGETS.items())
        + " of the OpenAI route's throughput, no errors: "
        f"{'FAIL' if failed else 'ok'}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
