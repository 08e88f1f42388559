"""Reading a gateway's Prometheus metrics, and each of its workers' own counter files."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2 as httpx
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, tuple[tuple[str, str], ...]]


def scrape(url: str) -> dict[Key, float]:
    """`GET {url}/metrics`, parsed by the Prometheus text parser: (name, labels) -> value."""
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def total(samples: dict[Key, float], name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels`."""
    return sum(
        v
        for (n, ls), v in samples.items()
        if n == name and all(dict(ls).get(k) == want for k, want in labels.items())
    )


def worker_pids(server_pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid:
            out.append(int(entry.name))
    return out


def counter_file(worker_pid: int) -> Path:
    """The worker's own counter file, found through its memory maps: the directory is private
    to the `palisade serve` process that made it."""
    maps = Path(f"/proc/{worker_pid}/maps").read_text()
    [path] = {line.split()[-1] for line in maps.splitlines() if f"counter_{worker_pid}.db" in line}
    return Path(path)


def worker_counter(worker_pid: int, sample: str, **labels: str) -> float:
    """One worker's own value of a counter sample (summed over the other labels)."""
    values = MmapedDict.read_all_values_from_file(str(counter_file(worker_pid)))  # type: ignore[no-untyped-call]
    out = 0.0
    for key, value, _, _ in values:
        _, name, key_labels, _ = json.loads(key)
        if name == sample and all(key_labels.get(k) == v for k, v in labels.items()):
            out += value
    return out
