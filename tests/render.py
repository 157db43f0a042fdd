"""Render the template, and optionally run the generated project's tests.

    python tests/render.py OUTPUT_DIR [name=value ...] [--test [PYTEST_ARGS ...]]
    python tests/render.py OUTPUT_DIR [name=value ...] --run COMMAND [ARGS ...]

OUTPUT_DIR may be ``--temporary``: a fresh folder outside this repository,
removed afterwards (tools that honour this repository's .gitignore, such as
ruff, would skip a project rendered under .tox/).

renders the template with its default answers (or the given ones) into
OUTPUT_DIR, which must not hold a project yet, and prints the project's path.
With ``--test`` it then runs the generated project's pytest suite there, and
with ``--run`` any command there; it exits with that command's status (for
pytest, 5, "no tests ran", included). tox's ``generated`` and ``lint`` envs use
it, and the template's tests import ``render`` from here.
"""

from __future__ import annotations

import os
import re
import shutil
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


def c_string_value(header: str, name: str) -> str:
    """The value of the C++ string constant ``name[] = "..."`` in a rendered header."""
    literal = re.search(rf'{re.escape(name)}\[\] = "((?:[^"\\]|\\.)*)";', header)
    assert literal is not None, f"no string constant {name} in the header"
    return re.sub(r"\\(.)", r"\1", literal.group(1))


def run_in_project(project: Path, command: list[str]) -> int:
    """Run a command in the generated project's folder; return its status.

    The TOX_* variables of the tox env running this are dropped: a tox run
    inside the project (``--run tox -e lint``) would otherwise take them for
    its own settings and build its envs in the outer run's work folder.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOX_")}
    return subprocess.run(command, cwd=project, env=env, check=False).returncode


def copy_template(destination: Path) -> Path:
    """A copy of the template, without this checkout's git and tool state."""
    shutil.copytree(
        TEMPLATE_DIR,
        destination,
        ignore=shutil.ignore_patterns(".git", ".tox", "__pycache__", ".*_cache", ".hypothesis"),
    )
    return destination


def git(*arguments: str, cwd: Path) -> None:
    """Run git in ``cwd`` as a throw-away identity (the tests commit templates and projects)."""
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *arguments],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _yaml_string(path: Path) -> str:
    # A double-quoted YAML scalar accepts the same escapes as a JSON string.
    import json

    return json.dumps(str(path))


def main(argv: list[str]) -> int:
    command: list[str] | None = None
    if "--test" in argv:
        split = argv.index("--test")
        argv, command = argv[:split], [sys.executable, "-m", "pytest", *argv[split + 1 :]]
    elif "--run" in argv:
        split = argv.index("--run")
        argv, command = argv[:split], argv[split + 1 :]
        if not command:
            print("--run needs a command", file=sys.stderr)
            return 2
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    output_dir, *pairs = argv
    if output_dir == "--temporary":
        with tempfile.TemporaryDirectory(prefix="rendered-template-") as temporary:
            return _render_and_run(Path(temporary), pairs, command)
    return _render_and_run(Path(output_dir), pairs, command)


def _render_and_run(output_dir: Path, pairs: list[str], command: list[str] | None) -> int:
    malformed = [pair for pair in pairs if "=" not in pair]
    if malformed:
        print(f"expected name=value, got: {' '.join(malformed)}", file=sys.stderr)
        return 2
    answers = dict(pair.split("=", 1) for pair in pairs)
    project = render(output_dir, answers)
    print(project, flush=True)
    if command is None:
        return 0
    return run_in_project(project, command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
