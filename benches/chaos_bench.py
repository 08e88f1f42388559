"""Chaos: a model served by two deployments, one of which fails 30% of its calls with a 500
(the mock's seeded scenario), under wrk at concurrency 32, whole answers and streams.

Sides, alternating in each repeat: `routed` (the model listed under `models` with both
deployments: a failed call is retried on the other one, with a fallback model configured) and
`direct` (the flaky provider reached directly: what its clients see without the layer).
Target (issue 18): `routed` shows 0 client-visible errors. The CPU per request of each side is
reported; `routed` pays for the retried calls.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from http_bench import (
    SERVER_CPU,
    Run,
    bench_arguments,
    chat_body,
    describe,
    enter_load_cpu,
    free_port,
    gateway_server,
    measure,
    mock_server,
    palisade_cli,
    parse_bench_args,
    show_logs,
    wrk_script,
)

CONNECTIONS = 32
FAIL_RATE = 0.3


def _put_scenario(mock_port: int, name: str, behaviour: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{mock_port}/_mock/scenarios/{name}",
        data=json.dumps(behaviour).encode(),
        method="PUT",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (a local URL)
        answer.read()


def _config(port: int, mock_port: int) -> str:
    base = f"http://127.0.0.1:{mock_port}/_s"
    return f"""
server: {{host: 127.0.0.1, port: {port}, workers: 1}}
store: {{sqlite_path: '{tempfile.gettempdir()}/palisade-chaos-{port}.db'}}
auto_providers: false
providers:
  flaky: {{base_url: '{base}/flaky/v1', api_key: mock-key, models: [direct-flaky]}}
  steady: {{base_url: '{base}/steady/v1', api_key: mock-key, models: [direct-steady]}}
  spare: {{base_url: '{base}/spare/v1', api_key: mock-key}}
models:
  chaos:
    deployments: [{{provider: flaky}}, {{provider: steady}}]
    fallbacks: [spare:gpt-4o-mini]
"""


def main(argv: list[str] | None = None) -> int:
    parser = bench_arguments(__doc__, "chaos_bench.json")
    args = parse_bench_args(parser, argv)
    enter_load_cpu()
    palisade = palisade_cli()
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        mock_port, port = free_port(), free_port()
        config = workdir / "palisade.yaml"
        config.write_text(_config(port, mock_port))
        mock = stack.enter_context(mock_server(palisade, mock_port, workdir))
        gateway = stack.enter_context(gateway_server(palisade, config, port, workdir))
        gateway.pin(SERVER_CPU)
        _put_scenario(mock_port, "flaky", {"fail": "500", "fail_rate": FAIL_RATE, "seed": 7})
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        sides = {}
        for stream in (False, True):
            kind = "stream" if stream else "whole"
            sides[f"routed {kind}"] = wrk_script(
                workdir / f"routed-{kind}.lua", chat_body(stream=stream, model="chaos")
            )
            sides[f"direct {kind}"] = wrk_script(
                workdir / f"direct-{kind}.lua", chat_body(stream=stream, model="direct-flaky")
            )
        try:
            for script in sides.values():
                measure(gateway, url, script, connections=CONNECTIONS, duration_s=args.warmup)
            for _ in range(args.repeats):
                for name, script in sides.items():
                    run = measure(
                        gateway, url, script, connections=CONNECTIONS, duration_s=args.duration
                    )
                    results.setdefault(name, []).append(run)
                    print(f"{name:16} {describe(run)}", flush=True)
        except BaseException:
            show_logs([mock, gateway])
            raise
    print()
    failed = False
    for name, runs in results.items():
        requests = sum(r.requests for r in runs)
        errors = sum(r.errors for r in runs)
        share = errors / max(requests, 1)
        print(f"{name:16} {requests:8d} requests, {errors:6d} client-visible errors ({share:.2%})")
        if name.startswith("routed") and errors:
            failed = True
    print(
        f"direct: every call to the deployment failing {FAIL_RATE:.0%} of its calls; routed: "
        "the model over both deployments (target: 0 errors)"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "time": time.time(),
                "sides": {n: [r.__dict__ for r in runs] for n, runs in results.items()},
            },
            indent=2,
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
