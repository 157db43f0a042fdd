"""The benchmark scripts keep working (their figures are not checked here)."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_stream_event_benchmark_runs_and_reports_every_figure():
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "benchmarks" / "bench_stream_event.py"),
            *("--rounds", "1", "--batches", "1", "--calls", "50"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("new stream", "stream.wait_event(event)", "geometric mean ratio", "worst ratio"):
        assert line in result.stdout
