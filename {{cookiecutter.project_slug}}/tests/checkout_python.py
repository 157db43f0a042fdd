"""Running Python in a fresh interpreter that imports the package from this
checkout's src/: for what one process cannot show twice (a first build, an
import that must fail, interpreter exit)."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_python(
    *arguments: str, timeout: float | None = None, **environment: str
) -> subprocess.CompletedProcess:
    """Run ``python *arguments`` with src/ on the path and ``environment`` added.

    The output is captured as text; the exit status is the caller's to check.
    """
    return subprocess.run(
        [sys.executable, *arguments],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src"), **environment},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
