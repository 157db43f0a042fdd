"""Render the template, and optionally run the generated project's tests.

    python tests/render.py OUTPUT_DIR [name=value ...] [--test [PYTEST_ARGS ...]]

renders the template with its default answers (or the given ones) into
OUTPUT_DIR, which must not hold a project yet, and prints the project's path.
With ``--test`` it then runs the generated project's pytest suite there and
exits with pytest's status (5, "no tests ran", included). tox's ``generated``
env uses it, and the template's tests import ``render`` from here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"


def render(output_dir: Path, answers: Mapping[str, object] | None = None) -> Path:
    """Render the template non-interactively into output_dir; return the project path.

    cookiecutter writes a replay file on every run; a throw-away config keeps
    it (and any template clone) out of the user's home folder.
    """
    from cookiecutter.main import cookiecutter

    with tempfile.TemporaryDirectory(prefix="cookiecutter-state-") as state:
        config = Path(state, "config.yaml")
        config.write_text(
            f"replay_dir: {_yaml_string(Path(state, 'replay'))}\n"
            f"cookiecutters_dir: {_yaml_string(Path(state, 'templates'))}\n",
            encoding="utf-8",
        )
        project = cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context=dict(answers or {}),
            output_dir=str(output_dir),
            config_file=str(config),
        )
    return Path(project)


def run_generated_tests(project: Path, pytest_args: list[str]) -> int:
    """Run the generated project's test suite in its own folder; return pytest's status."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args],
        cwd=project,
        env=os.environ.copy(),
        check=False,
    ).returncode


def _yaml_string(path: Path) -> str:
    # A double-quoted YAML scalar accepts the same escapes as a JSON string.
    import json

    return json.dumps(str(path))


def main(argv: list[str]) -> int:
    pytest_args: list[str] | None = None
    if "--test" in argv:
        split = argv.index("--test")
        argv, pytest_args = argv[:split], argv[split + 1 :]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    output_dir, *pairs = argv
    malformed = [pair for pair in pairs if "=" not in pair]
    if malformed:
        print(f"expected name=value, got: {' '.join(malformed)}", file=sys.stderr)
        return 2
    answers = dict(pair.split("=", 1) for pair in pairs)
    project = render(Path(output_dir), answers)
    print(project, flush=True)
    if pytest_args is None:
        return 0
    return run_generated_tests(project, pytest_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
