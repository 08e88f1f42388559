from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _serve(tmp_path: Path, config: str, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "palisade.yaml"
    path.write_text(config)
    return subprocess.run(
        [sys.executable, "-m", "palisade.cli", "serve", "--config", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    for config, extra in (("server: {workers: 2}\n", ()), ("{}\n", ("--workers", "3"))):
        done = _serve(tmp_path, config, *extra)
        assert done.returncode == 2
        assert "store.redis_url" in done.stderr
        assert "workers" in done.stderr
        assert "one worker" in done.stderr
