"""Running Python in a fresh interpreter that imports the package from this
checkout's src/: for what one process cannot show twice (a first build, an
import that must fail, interpreter exit)."""

import os
import re
import shutil
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


def copy_checkout(destination: Path, package: str | None = None) -> Path:
    """Copy this checkout's src/ and csrc/ into ``destination``; return the copy's root.

    With ``package``, the copy is another backend: its package folder, and
    the package name as a word in its Python (lower-case, and upper-case in
    environment variable names), are renamed to ``package``.
    """
    original = "{{ cookiecutter.package_name }}"
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("src", "csrc"):
        shutil.copytree(PROJECT_ROOT / folder, destination / folder, ignore=ignore)
    if package is not None:
        package_dir = destination / "src" / package
        (destination / "src" / original).rename(package_dir)
        for path in package_dir.glob("*.py"):
            text = path.read_text(encoding="utf-8")
            for old, new in ((original, package), (original.upper(), package.upper())):
                text = re.sub(rf"(?<![A-Za-z0-9]){old}(?![A-Za-z0-9])", new, text)
            path.write_text(text, encoding="utf-8")
    return destination


def start_python(*arguments: str, **environment: str) -> subprocess.Popen:
    """Start ``python *arguments`` as run_python does, without waiting for it.

    Its stdout and stderr are unbuffered byte pipes, for reading while it
    runs; the caller must wait for it (with a timeout) or kill it.
    """
    return subprocess.Popen(
        [sys.executable, *arguments],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src"), **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
