"""What the template renders: every answer lands where it should, and nothing
else is touched."""

from __future__ import annotations

import ast
import fnmatch
import json
import tomllib

import answer_rules
import pytest
import yaml
from render import PROJECT_TEMPLATE, TEMPLATE_DIR, c_string_value, render

AWKWARD_TEXT = {
    "project_name": 'The "Quoted" O\'Neil Device \\ with {braces} and ünïcode 🚀',
    "description": "Says \"hi\", \\n is not a newline, { single braces } 'quoted'",
    "author_name": 'Zoë "Zed" O\'Hara',
    "device_name": 'Ünïcode "Quoted" \\ Device \\n',
}


def text_files(project):
    for path in sorted(project.rglob("*")):
        if path.is_file():
            yield path, path.read_text(encoding="utf-8")


def copied_verbatim():
    """Template files that cookiecutter copies without rendering, relative paths."""
    patterns = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["_copy_without_render"]
    for path in sorted(PROJECT_TEMPLATE.rglob("*")):
        relative = path.relative_to(PROJECT_TEMPLATE).as_posix()
        if path.is_file() and any(fnmatch.fnmatch(relative, p) for p in patterns):
            yield relative


def test_no_template_syntax_is_left_in_the_rendered_project(default_project):
    # Files copied verbatim may hold C++ such as `f({{1, 2}})`; the next test
    # checks them byte for byte instead.
    verbatim = set(copied_verbatim())
    for path, text in text_files(default_project):
        if path.relative_to(default_project).as_posix() in verbatim:
            continue
        for marker in ("{{", "{%", "{#"):
            assert marker not in text, f"{marker!r} left in {path}"
    assert not any("{{" in part for p in default_project.rglob("*") for part in p.parts)


def test_cpp_sources_are_copied_byte_for_byte(default_project):
    verbatim = list(copied_verbatim())
    assert any(name.endswith(".cpp") for name in verbatim)
    for relative in verbatim:
        rendered = (default_project / relative).read_bytes()
        assert rendered == (PROJECT_TEMPLATE / relative).read_bytes(), relative


def test_every_cpp_file_except_the_config_header_is_copied_verbatim():
    verbatim = set(copied_verbatim())
    cpp = {
        path.relative_to(PROJECT_TEMPLATE).as_posix()
        for path in PROJECT_TEMPLATE.rglob("*")
        if path.suffix in {".cpp", ".h"}
    }
    assert cpp - verbatim == {"csrc/device_config.h"}


def test_config_header_carries_the_answers_with_braces_intact(output_dir):
    project = render(output_dir, {"device_count": "5"})
    header = (project / "csrc" / "device_config.h").read_text()
    assert "inline constexpr int kDeviceCount = 5;" in header
    assert 'inline constexpr char kDeviceTypeName[] = "mtia";' in header
    assert header.count("{") == header.count("}") == 1
    assert "namespace fakedevice::config {" in header


def test_rendered_tree_mirrors_the_template(default_project):
    rendered = {p.relative_to(default_project).as_posix() for p in default_project.rglob("*")}
    expected = {
        p.relative_to(PROJECT_TEMPLATE)
        .as_posix()
        .replace("{{cookiecutter.package_name}}", "fake_mtia_backend")
        for p in PROJECT_TEMPLATE.rglob("*")
        if "__pycache__" not in p.parts
    }
    assert rendered == expected


def test_ci_workflow_is_valid_yaml_with_github_expressions_intact(default_project):
    workflow_file = default_project / ".github" / "workflows" / "ci.yml"
    workflow = yaml.safe_load(workflow_file.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["tests"]["steps"]
    assert {"run": "tox -e tests-torch${{ matrix.torch }}"} in steps
    matrix = workflow["jobs"]["tests"]["strategy"]["matrix"]["torch"]
    assert matrix == "${{ fromJSON(needs.releases.outputs.torch) }}"
    assert "${{ hashFiles('csrc/**') }}" in workflow_file.read_text(encoding="utf-8")


def test_answers_are_saved_without_settings_or_machine_paths(default_project):
    # Settings (keys starting with '_') replayed from an old project would
    # override the template's current ones.
    saved = json.loads((default_project / ".cookiecutter.json").read_text(encoding="utf-8"))
    answers = saved["cookiecutter"]
    assert answers["project_name"] == "Fake MTIA Backend"
    assert answers["device_count"] == "2"
    assert list(saved) == ["cookiecutter"]
    assert set(answers) == set(answer_rules.RULES)


def test_generated_python_parses(default_project):
    for path in default_project.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_awkward_text_answers_come_back_unchanged(output_dir):
    project = render(output_dir, AWKWARD_TEXT)
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["description"] == AWKWARD_TEXT["description"]
    assert metadata["authors"] == [
        {"name": AWKWARD_TEXT["author_name"], "email": "you@example.com"}
    ]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert AWKWARD_TEXT["project_name"] in readme
    assert AWKWARD_TEXT["description"] in readme
    conftest = ast.parse((project / "tests" / "conftest.py").read_text(encoding="utf-8"))
    returned = [
        node.value.value
        for node in ast.walk(conftest)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
    ]
    assert AWKWARD_TEXT["device_name"] in returned
    header = (project / "csrc" / "device_config.h").read_text(encoding="utf-8")
    assert c_string_value(header, "kDeviceName") == AWKWARD_TEXT["device_name"]


def test_default_names_derive_from_the_project_name(output_dir):
    project = render(output_dir, {"project_name": "Acme Tensor Engine"})
    assert project.name == "acme-tensor-engine"
    assert (project / "src" / "acme_tensor_engine" / "__init__.py").is_file()


@pytest.mark.parametrize(
    ("license_name", "first_line"),
    [
        ("MIT", "MIT License"),
        ("BSD-3-Clause", "BSD 3-Clause License"),
        ("Proprietary", "Copyright"),
    ],
)
def test_license_answer_picks_the_license(output_dir, license_name, first_line):
    project = render(output_dir, {"license": license_name, "author_name": "Ada"})
    license_text = (project / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith(first_line)
    assert "Ada" in license_text
    spdx = tomllib.loads((project / "pyproject.toml").read_text())["project"]["license"]
    assert spdx == (license_name if license_name != "Proprietary" else "LicenseRef-Proprietary")
