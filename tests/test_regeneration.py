"""A generated project keeps its answers, so it can be regenerated and updated.

cruft records the template and the answers (.cruft.json) and updates a
project by applying the difference between two renders as a patch, so a
user's own edits survive; the project also carries its answers as a
cookiecutter replay file (.cookiecutter.json) for plain cookiecutter.
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import cruft
import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from render import TEMPLATE_DIR, copy_template, git, render


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


def commit_all(folder, message):
    git("add", "-A", cwd=folder)
    git("commit", "-q", "-m", message, cwd=folder)


def cruft_project(template_repository, tmp_path):
    """A project created by cruft from the template, committed to its own git repository."""
    project = cruft.create(
        str(template_repository), output_dir=tmp_path / "projects", no_input=True
    )
    git("init", "-q", cwd=project)
    commit_all(project, "generated")
    return project


def test_cruft_update_applies_a_changed_answer_and_keeps_user_edits(template_repository, tmp_path):
    project = cruft_project(template_repository, tmp_path)
    readme = project / "README.md"
    title, rest = readme.read_text(encoding="utf-8").split("\n", 1)
    readme.write_text(f"{title}\n\nOur team's own notes.\n{rest}", encoding="utf-8")
    own_test = project / "tests" / "test_our_own.py"
    own_test.write_text("def test_ours():\n    assert True\n", encoding="utf-8")
    commit_all(project, "our edits")

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


def new_license_version(template):
    """Change the template's hooks as a new version would: a license more, a
    reworded pre-gen hook."""
    rules = template / "hooks" / "answer_rules.py"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace('"Proprietary")', '"Proprietary", "Apache-2.0")'), "utf-8")
    hook = template / "hooks" / "pre_gen_project.py"
    hook.write_text(hook.read_text(encoding="utf-8") + "# reworded\n", encoding="utf-8")


def test_cruft_update_renders_each_version_with_its_own_hooks(template_repository, tmp_path):
    project = cruft_project(template_repository, tmp_path)
    new_license_version(template_repository)
    commit_all(template_repository, "Apache-2.0")

    assert cruft.update(project, extra_context={"license": "Apache-2.0"}, skip_apply_ask=True)

    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = "Apache-2.0"' in pyproject


def test_two_versions_of_the_template_in_one_process_keep_their_own_rules(tmp_path):
    newer = copy_template(tmp_path / "newer")
    new_license_version(newer)

    def render_apache(template):
        return cookiecutter(
            str(template),
            no_input=True,
            extra_context={"license": "Apache-2.0"},
            output_dir=str(tmp_path / "output"),
        )

    with pytest.raises(FailedHookException, match="license 'Apache-2.0' is not supported"):
        render_apache(TEMPLATE_DIR)
    assert "Apache-2.0" in (Path(render_apache(newer)) / "pyproject.toml").read_text()
    with pytest.raises(FailedHookException, match="license 'Apache-2.0' is not supported"):
        render_apache(TEMPLATE_DIR)
