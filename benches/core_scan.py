"""Single-threaded scanner throughput through the Python binding, all built-in rules on.

Clean English prose (a few MB generated deterministically from Faker's word list, with the
occasional number, time and colon real prose has) and PII-dense text (an entity every ~60
bytes). Then the cost of one scan of a 1 KiB and a 64 KiB prose text, with and without the
gateway's admin tokens configured (production configs set them, and they are matched in every
text). Prints tables and writes bench-results/core_scan.json.

    .venv/bin/python benches/core_scan.py
"""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Callable
from pathlib import Path

from faker import Faker
from faker.providers.lorem.en_US import Provider as Lorem

from palisade._core import Scanner

TARGETS = {"clean_prose": 300.0, "pii_dense": 50.0}
# Shaped like `admin.token` / `admin.viewer_token`; built here so no secret scanner flags them.
ADMIN_TOKENS = ["-".join(["bench", "Admin", "Tok3n", "q8Zr2Lx7"]), "viewer." + "k4Wm" * 5]
LATENCY_SIZES = {"1KiB": 1 << 10, "64KiB": 64 << 10}


def clean_prose(size: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    words = list(Lorem.word_list)
    out: list[str] = []
    n = 0
    while n < size:
        sentence = [rng.choice(words) for _ in range(rng.randint(6, 18))]
        sentence[0] = sentence[0].capitalize()
        r = rng.random()
        if r < 0.05:
            sentence.insert(rng.randrange(len(sentence)), str(rng.randint(2, 2030)))
        elif r < 0.07:
            sentence.insert(
                rng.randrange(len(sentence)), f"at {rng.randint(1, 12)}:{rng.randint(10, 59)}"
            )
        elif r < 0.09:
            sentence.insert(1, "note:")
        s = (
            " ".join(sentence)
            + rng.choice([".", ".", ".", "?", "!", ","])
            + (" " if rng.random() < 0.9 else "\n\n")
        )
        out.append(s)
        n += len(s)
    return "".join(out)


def pii_dense(size: int, seed: int = 2) -> str:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    b62 = string.ascii_letters + string.digits
    makers: list[Callable[[], str]] = [
        lambda: str(fake.email()),
        lambda: f"({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
        lambda: str(fake.credit_card_number(card_type="visa16")),
        lambda: str(fake.ssn()),
        lambda: str(fake.ipv4()),
        lambda: str(fake.ipv6()),
        lambda: "sk-proj-" + "".join(rng.choice(b62) for _ in range(48)),
        lambda: "ghp_" + "".join(rng.choice(b62) for _ in range(36)),
        lambda: "api_key=" + "".join(rng.choice(b62) for _ in range(32)),
        lambda: "AKIA" + "".join(rng.choice(string.ascii_uppercase) for _ in range(16)),
    ]
    pool = [m() for m in makers for _ in range(200)]
    fillers = [
        f"{w} {v} {x}"
        for w, v, x in zip(Lorem.word_list, Lorem.word_list[7:], Lorem.word_list[13:], strict=False)
    ]
    out: list[str] = []
    n = 0
    while n < size:
        s = f"{rng.choice(fillers)} {rng.choice(pool)}, {rng.choice(fillers)}. "
        out.append(s)
        n += len(s)
    return "".join(out)


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def per_scan_ns(scanner: Scanner, text: str) -> float:
    """Best of 5 rounds of the mean time of one `scan` call, in ns; a round scans 64 MiB."""
    n = (64 << 20) // len(text)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter_ns()
        for _ in range(n):
            scanner.scan(text)
        best = min(best, (time.perf_counter_ns() - t) / n)
    return best


def latency_rows() -> list[dict[str, object]]:
    scanners = {"none": Scanner(), "admin+viewer": Scanner(admin_tokens=ADMIN_TOKENS)}
    prose = clean_prose(max(LATENCY_SIZES.values()) + 1024, seed=3)
    rows: list[dict[str, object]] = []
    for size_name, size in LATENCY_SIZES.items():
        text = prose[:size]
        for tokens, scanner in scanners.items():
            rows.append(
                {
                    "input": f"clean_prose_{size_name}",
                    "admin_tokens": tokens,
                    "scan_ns": round(per_scan_ns(scanner, text)),
                }
            )
    return rows


def main() -> None:
    scanner = Scanner()
    texts = {"clean_prose": clean_prose(8 << 20), "pii_dense": pii_dense(2 << 20)}
    rows: list[dict[str, object]] = []
    for name, text in texts.items():
        size = len(text.encode())
        matches = len(scanner.scan(text))
        scan_s = best_of(lambda t=text: scanner.scan(t), 5)  # type: ignore[misc]
        redact_s = best_of(lambda t=text: scanner.redact(t), 5)  # type: ignore[misc]

        def streamed(t: str = text) -> None:
            red = scanner.stream()
            for i in range(0, len(t), 256):
                red.feed(t[i : i + 256])
            red.finish()

        stream_s = best_of(streamed, 2)
        rows.append(
            {
                "input": name,
                "mb": round(size / 1e6, 2),
                "matches": matches,
                "scan_mb_s": round(size / 1e6 / scan_s, 1),
                "redact_mb_s": round(size / 1e6 / redact_s, 1),
                "stream_256b_chunks_mb_s": round(size / 1e6 / stream_s, 1),
                "target_mb_s": TARGETS[name],
            }
        )
    print(
        f"{'input':<12}{'MB':>7}{'matches':>9}{'scan MB/s':>11}{'redact MB/s':>13}"
        f"{'stream MB/s':>13}{'target':>8}"
    )
    for r in rows:
        print(
            f"{r['input']!s:<12}{r['mb']!s:>7}{r['matches']!s:>9}{r['scan_mb_s']!s:>11}"
            f"{r['redact_mb_s']!s:>13}{r['stream_256b_chunks_mb_s']!s:>13}{r['target_mb_s']!s:>8}"
        )
    latency = latency_rows()
    print(f"\n{'input':<20}{'admin tokens':>14}{'ns/scan':>10}")
    for r in latency:
        print(f"{r['input']!s:<20}{r['admin_tokens']!s:>14}{r['scan_ns']!s:>10}")
    out = Path(__file__).resolve().parent.parent / "bench-results" / "core_scan.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "single_threaded": True,
                "rules": "all built-in",
                "results": rows,
                "scan_latency": latency,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
