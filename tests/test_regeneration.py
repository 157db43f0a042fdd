"""A generated project keeps its answers, so it can be regenerated and updated.

cruft records the template and the answers (.cruft.json) and updates a
project by applying the difference between two renders as a patch, so a
user's own edits survive; the project also carries its answers as a
cookiecutter replay file (.cookiecutter.json) for plain cookiecutter.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess

import cruft
import pytest
from cookiecutter.main import cookiecutter
from render import TEMPLATE_DIR, render


def git(*arguments, cwd):
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *arguments],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def template_repository(tmp_path):
    """The template as a git repository, which cruft needs to record a commit."""
    repository = tmp_path / "template"
    shutil.copytree(
        TEMPLATE_DIR,
        repository,
        ignore=shutil.ignore_patterns(".git", ".tox", "__pycache__", ".pytest_cache"),
    )
    git("init", "-q", cwd=repository)
    git("add", "-A", cwd=repository)
    git("commit", "-q", "-m", "template", cwd=repository)
    return repository


def differing_files(left, right):
    comparison = filecmp.dircmp(left, right)
    stack, different = [comparison], []
    while stack:
        current = stack.pop()
        different += current.diff_files + current.left_only + current.right_only
        stack += current.subdirs.values()
    return different


def test_saved_answers_regenerate_the_same_project(tmp_path):
    first = render(tmp_path / "first", {"project_name": "Replayed Device", "device_count": "3"})
    again = cookiecutter(
        str(TEMPLATE_DIR),
        replay=str(first / ".cookiecutter.json"),
        output_dir=str(tmp_path / "again"),
    )
    assert differing_files(first, again) == []


def test_cruft_update_applies_a_changed_answer_and_keeps_user_edits(template_repository, tmp_path):
    project = cruft.create(
        str(template_repository), output_dir=tmp_path / "projects", no_input=True
    )
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "generated", cwd=project)
    readme = project / "README.md"
    title, rest = readme.read_text(encoding="utf-8").split("\n", 1)
    readme.write_text(f"{title}\n\nOur team's own notes.\n{rest}", encoding="utf-8")
    own_test = project / "tests" / "test_our_own.py"
    own_test.write_text("def test_ours():\n    assert True\n", encoding="utf-8")
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "our edits", cwd=project)

    assert cruft.update(project, extra_context={"device_count": "3"}, skip_apply_ask=True)

    header = (project / "csrc" / "device_config.h").read_text(encoding="utf-8")
    assert "inline constexpr int kDeviceCount = 3;" in header
    assert "return 3" in (project / "tests" / "conftest.py").read_text(encoding="utf-8")
    assert (
        json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["device_count"]
        == "3"
    )
    updated_readme = readme.read_text(encoding="utf-8")
    assert "Our team's own notes." in updated_readme
    assert "<<<<<<<" not in updated_readme
    assert own_test.exists()
