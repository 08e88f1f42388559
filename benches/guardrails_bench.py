"""Guardrail cost, in one run: one gateway, a proxy without guardrails and one with them.

The gateway's config has two proxies: `plain` (no guardrails) and `guarded` (`pii` redact,
`secrets` block, both directions, and `injection` on user messages and tool results). Both are
served by the same gateway process, in the same run, against the same mock, so the difference
between `/v1/openai/plain/...` and `/v1/openai/guarded/...` is what the guardrails cost.

The request is a ~1 KB business prompt (system + user message) and the mock answers with a
~600-byte reply, so that both the request and the response scans have realistic text to read.
A second variant carries one email address, so that the redaction path runs on every request.

Before measuring, the run checks that the guarded route really applies the guardrails (the
mock records what it received): an email in the request reaches the upstream redacted, an email
in the answer never reaches the client (stream or not), a cloud key is blocked, the clean
prompt passes unchanged, and the plain route changes nothing. If not, the report says so
loudly instead of giving a result.

Pinning, interleaving and CPU accounting are those of `http_bench.py`: the gateway alone on
CPU 1, wrk, the mock and this script on CPU 0; plain and guarded runs alternate order; each
figure is the median of the repeats. `make bench` runs it; `--quick` is a smoke run; the exit
code is 0 even when a target is missed (the table says MISSED).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from http_bench import (
    CHAT_PATH,
    LOAD_CPU,
    SERVER_CPU,
    Server,
    Side,
    bench_arguments,
    chat_body,
    check_chat,
    describe,
    enter_load_cpu,
    free_port,
    gateway_server,
    gateway_yaml,
    measure,
    mock_server,
    palisade_cli,
    parse_bench_args,
    request,
    run_meta,
    show_logs,
    write_json,
    wrk_script,
)

Variant = Literal["clean", "email"]
Proxy = Literal["plain", "guarded"]

TARGET_THROUGHPUT_LOSS = 0.15
TARGET_ADDED_P50_MS = 0.2
UNSATURATED = 0.9
"""Below this share of its core in use, something other than the gateway limited the rate."""

# The interaction log and metrics are off: the comparison is of the guardrails alone, against
# the leanest gateway (recording would add the same cost to both sides and shrink the loss).
GUARDRAILS_YAML = """\
logging: {enabled: false}
metrics: {enabled: false}
guardrails:
  pii: {type: pii, action: redact, direction: both}
  secrets: {type: secrets, action: block, direction: both}
  injection: {type: injection, targets: [user, tool]}
proxies:
  - {name: Plain, id: plain, guardrails: []}
  - {name: Guarded, id: guarded, guardrails: [pii, secrets, injection]}
default_proxy: plain
"""

ROUTES: dict[Proxy, str] = {
    "plain": "/v1/openai/plain/chat/completions",
    "guarded": "/v1/openai/guarded/chat/completions",
}

_SYSTEM = (
    "You are a careful assistant for the operations team of a mid-sized logistics company. "
    "Answer in plain business English, keep replies short and specific, and never invent "
    "figures that are not in the message. When something is unclear, say what is missing."
)
_USER = (
    "Please draft a short update for our regional managers about the third-quarter warehouse "
    "consolidation. The Leeds and Sheffield sites will merge into the new distribution centre at "
    "Wakefield by the end of October. Inbound freight moves first, in the week of the ninth, and "
    "outbound orders follow two weeks later once the racking inspection is signed off. Staff who "
    "transfer keep their current shift patterns for at least three months, and the company covers "
    "the extra travel time until the new bus route starts. We expect a short dip in same-day "
    "dispatch rates during the move, so customer service should warn key accounts early and offer "
    "a next-day slot instead. Keep the tone calm and practical, list the dates that matter, and "
    "end with whom to ask about the rota."
)
EMAIL = "dana.whitfield@northwind-logistics.com"
_USER_WITH_EMAIL = _USER.replace(
    "end with whom to ask about the rota.",
    f"end by saying that questions about the rota go to {EMAIL}.",
)
CLOUD_KEY = "AKIAZ3MHALSBQFH7XW2P"
"""Shaped like an AWS access key id: the `secrets` guardrail must block the request."""

REPLY = (
    "Here is a draft you can send. Subject: warehouse consolidation update. The Leeds and "
    "Sheffield sites merge into Wakefield by the end of October. Inbound freight moves in the "
    "week of the ninth; outbound orders follow two weeks later, after the racking inspection. "
    "Transferring staff keep their shift patterns for three months, and extra travel time is "
    "covered until the new bus route starts. Expect a short dip in same-day dispatch, so please "
    "warn key accounts early and offer next-day slots. Questions about the rota go to your "
    "site lead."
)
"""The mock's answer (its `reply` knob), so the response scan reads a realistic answer."""


def messages(user: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


PROMPTS: dict[Variant, list[dict[str, Any]]] = {
    "clean": messages(_USER),
    "email": messages(_USER_WITH_EMAIL),
}


def body(variant: Variant, *, stream: bool, reply: str = REPLY) -> bytes:
    return chat_body(stream=stream, messages=PROMPTS[variant], mock={"reply": reply})


def prompt_bytes(variant: Variant) -> int:
    return sum(len(m["content"].encode()) for m in PROMPTS[variant])


# --- is the guarded route guarded? -----------------------------------------------------------


def upstream_copy(mock: int, gateway: int, path: str, data: bytes) -> tuple[int, str | None]:
    """The gateway's status for one request, and the user message the mock received (None
    when nothing reached it)."""
    request(mock, "DELETE", "/_mock/requests")
    status, _ = request(gateway, "POST", path, data)
    _, raw = request(mock, "GET", "/_mock/requests")
    chats = [r for r in json.loads(raw) if r["path"] == CHAT_PATH]
    if not chats:
        return status, None
    user = [m for m in chats[-1]["body"]["messages"] if m.get("role") == "user"]
    return status, str(user[-1]["content"]) if user else ""


def answer_text(gateway: int, path: str, *, stream: bool) -> tuple[int, str]:
    """The assistant text the client gets when the mock's answer contains the email."""
    status, raw = request(gateway, "POST", path, body("clean", stream=stream, reply=REPLY + EMAIL))
    if status != 200 or not stream:
        return status, raw.decode(errors="replace")
    parts = []
    for line in raw.decode(errors="replace").splitlines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            event = json.loads(line[5:])
            for choice in event.get("choices") or ():
                parts.append((choice.get("delta") or {}).get("content") or "")
    return status, "".join(parts)


def check_guardrails(mock: int, gateway: int, routes: dict[Proxy, str]) -> list[str]:
    """What shows that `guarded` does not apply its guardrails or `plain` is not plain."""
    problems = []
    status, seen = upstream_copy(mock, gateway, routes["guarded"], body("email", stream=False))
    if seen is None:
        problems.append(f"guarded: the request with an email did not reach the upstream ({status})")
    elif EMAIL in seen:
        problems.append("guarded: the upstream received the email address unredacted")
    status, seen = upstream_copy(mock, gateway, routes["guarded"], body("clean", stream=False))
    if seen != _USER:
        problems.append(
            f"guarded: the clean prompt did not reach the upstream unchanged ({status})"
        )
    status, seen = upstream_copy(mock, gateway, routes["plain"], body("email", stream=False))
    if seen != _USER_WITH_EMAIL:
        problems.append(f"plain: the prompt did not reach the upstream unchanged ({status})")
    for stream in (False, True):
        status, text = answer_text(gateway, routes["guarded"], stream=stream)
        kind = "streamed answer" if stream else "answer"
        if status != 200:
            problems.append(f"guarded: an {kind} with an email failed ({status}): {text[:200]}")
        elif EMAIL in text:
            problems.append(f"guarded: the email address in the {kind} reached the client")
    leaked = messages(f"{_USER} The shared key is {CLOUD_KEY}.")
    status, seen = upstream_copy(
        mock, gateway, routes["guarded"], chat_body(stream=False, messages=leaked)
    )
    if status != 400 or seen is not None:
        problems.append(
            f"guarded: a request with a cloud key was not blocked (status {status}, "
            f"{'reached' if seen is not None else 'did not reach'} the upstream)"
        )
    return problems


# --- measurement -----------------------------------------------------------------------------


@dataclass
class Comparison:
    variant: Variant
    stream: bool
    concurrency: int
    name: str = ""
    plain: Side = field(default_factory=Side)
    guarded: Side = field(default_factory=Side)
    throughput_loss: float = 0.0
    """1 - guarded req/s / plain req/s."""
    added_p50_ms: float = 0.0
    cpu_added_us: float = 0.0
    cpu_loss: float = 0.0
    """1 - plain CPU/req / guarded CPU/req: the throughput loss to expect when the gateway is
    CPU-bound on a core of its own, which the rest of the machine's load barely moves."""
    plain_busy: float = 0.0
    """Share of its core the gateway used on the plain side. Well below 1 at c=32, the load
    side limited the rate, and the req/s loss understates the guardrails' cost."""
    guarded_busy: float = 0.0

    def __post_init__(self) -> None:
        kind = "stream" if self.stream else "non-stream"
        self.name = f"{self.variant} {kind} c={self.concurrency}"

    def summarize(self) -> None:
        self.plain.summarize()
        self.guarded.summarize()
        self.throughput_loss = 1 - self.guarded.rps / self.plain.rps
        self.added_p50_ms = self.guarded.p50_ms - self.plain.p50_ms
        self.cpu_added_us = self.guarded.cpu_us_per_req - self.plain.cpu_us_per_req
        self.cpu_loss = 1 - self.plain.cpu_us_per_req / self.guarded.cpu_us_per_req
        self.plain_busy = self.plain.rps * self.plain.cpu_us_per_req / 1e6
        self.guarded_busy = self.guarded.rps * self.guarded.cpu_us_per_req / 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_arguments(__doc__, "guardrails_bench.json")
    # Points both sides at one route, to try the harness while the proxy routes do not exist.
    parser.add_argument("--debug-route", help=argparse.SUPPRESS)
    args = parse_bench_args(parser, argv)
    routes: dict[Proxy, str] = (
        dict.fromkeys(ROUTES, args.debug_route) if args.debug_route else dict(ROUTES)
    )
    enter_load_cpu()
    palisade = palisade_cli()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="palisade-bench-")))
        mock_port, gw_port = free_port(), free_port()
        config = workdir / "gateway.yaml"
        config.write_text(gateway_yaml(gw_port, {"mock": (mock_port, ["gpt-*"])}) + GUARDRAILS_YAML)
        mock = stack.enter_context(mock_server(palisade, mock_port, workdir))
        gateway = stack.enter_context(gateway_server(palisade, config, gw_port, workdir))
        try:
            for path in routes.values():
                check_chat(gw_port, body("clean", stream=False), path)
                check_chat(gw_port, body("clean", stream=True), path)
        except RuntimeError as exc:
            raise SystemExit(f"guardrails_bench: a route under test does not work: {exc}") from None
        try:
            problems = check_guardrails(mock_port, gw_port, routes)
            return bench(args, mock, gateway, routes, problems, workdir)
        except Exception:
            show_logs([mock, gateway])
            raise
    return 1  # unreachable; mypy cannot see that ExitStack does not swallow


def pin(mock: Server, gateway: Server) -> None:
    mock.pin(LOAD_CPU)
    gateway.pin(SERVER_CPU)


def bench(
    args: argparse.Namespace,
    mock: Server,
    gateway: Server,
    routes: dict[Proxy, str],
    problems: list[str],
    workdir: Path,
) -> int:
    variants: tuple[Variant, ...] = ("clean", "email")
    scripts = {
        (v, s): wrk_script(workdir / f"{v}_{'stream' if s else 'plain'}.lua", body(v, stream=s))
        for v in variants
        for s in (False, True)
    }
    urls = {p: f"http://127.0.0.1:{gateway.port}{path}" for p, path in routes.items()}
    pinning = {
        "gateway": f"gateway pids {gateway.tree()} -> cpu {SERVER_CPU}",
        "load": f"wrk + mock pids {mock.tree()} + this script -> cpu {LOAD_CPU}",
    }
    print(f"pinning: {pinning['gateway']}; {pinning['load']}")
    print(f"routes: plain {routes['plain']}, guarded {routes['guarded']}")
    print(
        f"prompt: {prompt_bytes('clean')} bytes of message text (email variant "
        f"{prompt_bytes('email')}); mock reply {len(REPLY.encode())} bytes"
    )
    print(f"wrk -t1, {args.duration:g}s x {args.repeats} per side, median reported; loadavg "
          f"before: {os.getloadavg()}")  # fmt: skip
    for problem in problems:
        print(f"!!! {problem}")

    comparisons = [
        Comparison(v, s, c) for v in variants for s, c in ((False, 1), (False, 32), (True, 32))
    ]
    print("\nwarm-up ...", flush=True)
    pin(mock, gateway)
    for url in urls.values():
        for script in scripts.values():
            measure(gateway, url, script, connections=32, duration_s=args.warmup)

    started = time.monotonic()
    for rep in range(args.repeats):
        for cmp in comparisons:
            order: list[Proxy] = ["plain", "guarded"] if rep % 2 == 0 else ["guarded", "plain"]
            for proxy in order:
                pin(mock, gateway)
                run = measure(
                    gateway,
                    urls[proxy],
                    scripts[cmp.variant, cmp.stream],
                    connections=cmp.concurrency,
                    duration_s=args.duration,
                )
                getattr(cmp, proxy).runs.append(run)
                print(
                    f"  [{rep + 1}/{args.repeats}] {cmp.name:<22} {proxy:<7} {describe(run)}",
                    flush=True,
                )
    elapsed = time.monotonic() - started
    for cmp in comparisons:
        cmp.summarize()

    targets = check_targets(comparisons, problems)
    print_report(comparisons, targets, problems)
    meta = run_meta(args, pinning, elapsed)
    meta.update(
        routes=routes,
        guardrails=GUARDRAILS_YAML,
        prompt_bytes={v: prompt_bytes(v) for v in variants},
        reply_bytes=len(REPLY.encode()),
    )
    result = {
        "meta": meta,
        "guardrails_applied": not problems,
        "problems": problems,
        "scenarios": [asdict(cmp) for cmp in comparisons],
        "targets": targets,
    }
    write_json(args.json, result)
    return 0


def check_targets(comparisons: list[Comparison], problems: list[str]) -> list[dict[str, Any]]:
    """The issue's targets, on the clean prompt and on the one that is redacted every time."""
    by_name = {cmp.name: cmp for cmp in comparisons}
    out = []
    for variant in ("clean", "email"):
        c1, c32 = by_name[f"{variant} non-stream c=1"], by_name[f"{variant} non-stream c=32"]
        checks = (
            ("throughput loss, non-stream c=32", c32, c32.throughput_loss, TARGET_THROUGHPUT_LOSS),
            ("added p50 latency, non-stream c=1", c1, c1.added_p50_ms, TARGET_ADDED_P50_MS),
        )
        for name, cmp, value, limit in checks:
            errors = cmp.plain.errors + cmp.guarded.errors
            out.append(
                {
                    "name": f"{name}, {variant} prompt",
                    "target": f"<= {limit:g} ms" if "latency" in name else f"<= {limit:.0%}",
                    "value": round(value, 4),
                    "errors": errors,
                    # No verdict on a run whose guarded side was not guarded.
                    "met": None if problems else value <= limit and not errors,
                }
            )
    return out


def print_report(
    comparisons: list[Comparison], targets: list[dict[str, Any]], problems: list[str]
) -> None:
    head = (
        f"{'scenario':<22} | {'plain rps':>9} {'p50 ms':>7} {'p99 ms':>7} | "
        f"{'guarded rps':>11} {'p50 ms':>7} {'p99 ms':>7} | {'added p50':>9} {'loss':>6} | "
        f"{'cpu us/req plain/guarded':>24} {'cpu loss':>8} | {'busy plain/guarded':>18}"
    )
    print("\n" + head)
    print("-" * len(head))
    for cmp in comparisons:
        p, g = cmp.plain, cmp.guarded
        errors = f"  ERRORS: plain {p.errors}, guarded {g.errors}" if p.errors or g.errors else ""
        print(
            f"{cmp.name:<22} | {p.rps:9.0f} {p.p50_ms:7.3f} {p.p99_ms:7.3f} | "
            f"{g.rps:11.0f} {g.p50_ms:7.3f} {g.p99_ms:7.3f} | "
            f"{cmp.added_p50_ms:+7.3f}ms {cmp.throughput_loss:6.1%} | "
            f"{p.cpu_us_per_req:11.0f} /{g.cpu_us_per_req:11.0f} {cmp.cpu_loss:8.1%} | "
            f"{cmp.plain_busy:8.0%} /{cmp.guarded_busy:8.0%}{errors}"
        )
    print(
        "loss = 1 - guarded/plain req/s; cpu loss = 1 - plain/guarded CPU per request, the loss\n"
        "to expect when the gateway has a core of its own; busy = req/s x CPU per request, the\n"
        "share of its core the gateway used. The stream rows have no target."
    )
    for cmp in comparisons:
        if cmp.concurrency > 1 and not cmp.stream and cmp.plain_busy < UNSATURATED:
            print(
                f"note: {cmp.name}: the plain side kept the gateway only {cmp.plain_busy:.0%} "
                f"busy: the load side limited the rate, and the req/s loss may understate the "
                f"cost; the cpu loss ({cmp.cpu_loss:.1%}) is the better estimate."
            )
    print("\ntargets (issue 4; one Granian worker; plain and guarded proxies of one gateway):")
    for t in targets:
        value = f"{t['value']:+.3f} ms" if "latency" in t["name"] else f"{t['value']:.1%}"
        verdict = "met" if t["met"] else "MISSED"
        if t["met"] is None:
            verdict = "NO RESULT: guardrails not applied"
        elif t["errors"]:
            verdict += f" ({t['errors']} failed requests)"
        print(f"  {t['name']:<52} target {t['target']:<9} measured {value:<10} {verdict}")
    if problems:
        banner = "!" * 78
        print(f"\n{banner}\n!!! GUARDRAILS NOT APPLIED: these figures measure no guardrail cost")
        for problem in problems:
            print(f"!!!   {problem}")
        print(banner)


if __name__ == "__main__":
    raise SystemExit(main())
