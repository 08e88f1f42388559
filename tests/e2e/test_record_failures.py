"""The interaction log's database fails under a running gateway: requests still succeed, and
every record that could not be written is counted and logged.

The disk fills up for real: the gateway runs under a file-size limit (RLIMIT_FSIZE, which
binds root too, unlike a read-only file mode), so once the database and its WAL reach it,
SQLite's writes fail (EFBIG, reported as a disk I/O error or a full database).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import openai

from tests.helpers.prometheus import counter_file, scrape, total, worker_pids
from tests.helpers.servers import free_port, start_process_server

FILE_LIMIT = 3 * 1024 * 1024
CALLS = 60
PROMPT = "All work and no play makes a dull day at the warehouse. " * 1800  # ~100 KB


def test_a_full_disk_drops_records_not_requests(tmp_path: Path) -> None:
    mock_port, port = free_port(), free_port()
    config = tmp_path / "palisade.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: 1}}
store: {{sqlite_path: {tmp_path / "full.db"}}}
logging: {{max_body_bytes: 1048576}}
auto_providers: false
providers:
  mock: {{base_url: "http://127.0.0.1:{mock_port}/v1", api_key: k, models: ["gpt-*"]}}
"""
    )
    palisade = [sys.executable, "-m", "palisade.cli"]
    gateway = ["prlimit", f"--fsize={FILE_LIMIT}", *palisade, "serve", "--config", str(config)]
    with (
        start_process_server([*palisade, "mock-upstream", "--port", str(mock_port)], mock_port),
        start_process_server(gateway, port) as server,
        openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="client-key", max_retries=0
        ) as client,
    ):
        for _ in range(CALLS):
            answer = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": PROMPT}]
            )
            assert answer.choices[0].message.content

        deadline = time.monotonic() + 20
        while True:
            metrics = scrape(server.url)
            written = total(metrics, "palisade_interactions_written_total")
            dropped = total(metrics, "palisade_interactions_dropped_total")
            served = total(metrics, "llm_requests_total", status_code="200")
            # Each worker writes its metric values once a second.
            if (written + dropped >= CALLS and served >= CALLS) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert served == CALLS
        assert written + dropped == CALLS  # each record accounted for, none lost silently
        assert dropped == total(
            metrics, "palisade_interactions_dropped_total", reason="write_error"
        )
        assert dropped > 0
        assert written > 0  # the first ones, before the disk filled up
        assert (tmp_path / "full.db").stat().st_size <= FILE_LIMIT
        metrics_dir = counter_file(worker_pids(server.process.pid)[0]).parent
        assert metrics_dir.is_dir()
        log = server.log.read_text()
    assert "interaction log: writing to" in log
    # EFBIG: SQLite says "disk I/O error" or "database or disk is full", by where it hit.
    assert "full.db failed:" in log
    assert "records dropped" in log
    # `palisade serve` removed its metrics directory when it stopped.
    assert not metrics_dir.exists()
