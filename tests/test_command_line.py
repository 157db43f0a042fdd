"""At the command line, a refused answer is one line naming it, with exit
status 1, whichever tool renders the template; and a folder holding its own
hooks package stops python -m cookiecutter in one line too."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from render import TEMPLATE_DIR


def run(tool, *arguments, cwd):
    """Run ``python -m tool``; return its exit status and output lines."""
    result = subprocess.run(
        [sys.executable, "-m", tool, *map(str, arguments)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).splitlines()


def assert_refused_in_one_line(status, lines, start):
    assert (status, len(lines)) == (1, 1), lines
    assert lines[0].startswith(f"Invalid answer: {start}")


@pytest.mark.parametrize(
    "answer",
    [
        "license=GPL",
        "device_type=cuda",
        "project_name=a/{{cookiecutter.project_slug}}",
        "package_name=" + "a" * 300,
    ],
)
def test_cookiecutter_refuses_in_one_line(output_dir, answer):
    status, lines = run("cookiecutter", "--no-input", TEMPLATE_DIR, answer, cwd=output_dir)
    assert_refused_in_one_line(status, lines, answer.split("=")[0] + " ")
    assert list(output_dir.iterdir()) == []


def test_cookiecutter_refuses_a_replay_in_one_line(tmp_path, output_dir, default_project):
    replay = json.loads((default_project / ".cookiecutter.json").read_text(encoding="utf-8"))
    replay["cookiecutter"]["device_count"] = "99"
    replay_file = tmp_path / "answers.json"
    replay_file.write_text(json.dumps(replay), encoding="utf-8")
    status, lines = run(
        "cookiecutter", "--replay-file", replay_file, TEMPLATE_DIR, "-o", "sub", cwd=output_dir
    )
    assert_refused_in_one_line(status, lines, "device_count '99' ")
    assert list(output_dir.iterdir()) == []


def test_cruft_refuses_in_one_line(template_repository, output_dir):
    status, lines = run(
        "cruft",
        "create",
        "--no-input",
        "--extra-context",
        '{"license": "GPL"}',
        template_repository,
        cwd=output_dir,
    )
    assert_refused_in_one_line(status, lines, "license 'GPL' ")
    assert list(output_dir.iterdir()) == []


def hooks_folder(folder, *, package):
    """A folder holding a hooks/ of its own, as another project or template might."""
    (folder / "hooks").mkdir(parents=True)
    (folder / "hooks" / "jinja_extensions.py").write_text("raise ImportError\n", "utf-8")
    if package:
        (folder / "hooks" / "__init__.py").write_text("", encoding="utf-8")
    return folder


def test_cookiecutter_in_a_folder_with_its_own_hooks_package_stops_in_one_line(
    tmp_path, output_dir
):
    # python -m puts the current folder first on sys.path, so its regular
    # hooks package stands in for the template's namespace package: the
    # extension's import fails before any of the template's code runs, and
    # cookiecutter's own message is the line (the README says what to do).
    elsewhere = hooks_folder(tmp_path / "elsewhere", package=True)
    status, lines = run("cookiecutter", "--no-input", TEMPLATE_DIR, "-o", output_dir, cwd=elsewhere)
    assert (status, lines) == (
        1,
        ["Unable to load extension: No module named 'hooks.template_jinja'"],
    )
    assert list(output_dir.iterdir()) == []


def test_cookiecutter_runs_in_a_folder_with_a_hooks_folder_that_is_no_package(tmp_path, output_dir):
    # Without __init__.py, Python merges that folder with the template's hooks/
    # (another cookiecutter template's checkout, for instance).
    elsewhere = hooks_folder(tmp_path / "elsewhere", package=False)
    status, lines = run("cookiecutter", "--no-input", TEMPLATE_DIR, "-o", output_dir, cwd=elsewhere)
    assert status == 0, lines
    assert (output_dir / "fake-mtia-backend" / "src" / "fake_mtia_backend").is_dir()
