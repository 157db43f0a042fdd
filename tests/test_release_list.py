"""The torch releases live in one place, cookiecutter.json's ``_torch_releases``
(and ``_torch_default_release``, the quick check's): the files cookiecutter
renders take them from there, and every file that cannot be rendered (the
template's own tox.ini, .ci/run, README) is checked against it here."""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib

import yaml
from render import PROJECT_TEMPLATE, TEMPLATE_DIR

SETTINGS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
RELEASES: list[str] = SETTINGS["_torch_releases"]
DEFAULT: str = SETTINGS["_torch_default_release"]
MINORS = [release.rsplit(".", 1)[0] for release in RELEASES]
NEWEST = tuple(int(part) for part in MINORS[-1].split("."))
TORCH_RANGE = f"torch>={RELEASES[0]},<{NEWEST[0]}.{NEWEST[1] + 1}"


def release_pins(deps: str) -> dict[str, str]:
    """tox deps ``factor: torch==X`` lines, as {factor condition: pinned version}."""
    found = re.findall(r"^\s*(\S+): torch==(\S+)$", deps, re.MULTILINE)
    return dict(found)


def factor_section(tox: configparser.ConfigParser, prefix: str) -> str:
    """The name of the section for ``prefix`` with one factor per release."""
    name = f"testenv:{prefix}{{," + ",".join(f"-torch{minor}" for minor in MINORS) + "}"
    assert name in tox, f"tox.ini has no [{name}] (one env per release)"
    return name


def check_pins(deps: str) -> None:
    pins = release_pins(deps)
    default_condition = "-".join(f"!torch{minor}" for minor in MINORS)
    assert pins.pop(default_condition) == DEFAULT
    assert pins == {
        f"torch{minor}": release for minor, release in zip(MINORS, RELEASES, strict=True)
    }


# --- The list ---------------------------------------------------------------------


def test_the_list_is_every_minor_release_oldest_first():
    releases = [tuple(int(part) for part in release.split(".")) for release in RELEASES]
    assert all(len(release) == 3 for release in releases), "major.minor.patch, as pip pins it"
    for earlier, later in zip(releases, releases[1:], strict=False):
        # pyproject.toml declares one range: a gap would be inside it, untested.
        assert later[:2] == (earlier[0], earlier[1] + 1), f"{later} does not follow {earlier}"
    assert DEFAULT in RELEASES


# --- Files that are not rendered: checked -------------------------------------------------


def test_template_tox_runs_every_release_pinned_to_it():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(TEMPLATE_DIR / "tox.ini", encoding="utf-8")
    env_list = tox["tox"]["env_list"].split()
    assert [env for env in env_list if "torch" in env] == [f"generated-torch{m}" for m in MINORS]
    section = tox[factor_section(tox, "generated")]
    check_pins(tox["testenv"]["deps"])
    # Only the default release's env of the matrix runs the slow tests.
    default_minor = DEFAULT.rsplit(".", 1)[0]
    expected = f'!torch{default_minor}: PYTEST_ADDOPTS = -m "not slow"'
    assert expected in [line.strip() for line in section["set_env"].splitlines()]


def test_ci_runs_tox_env_list_one_env_at_a_time_and_names_no_release():
    script = (TEMPLATE_DIR / ".ci" / "run").read_text(encoding="utf-8")
    assert "-l)" in script and 'rm -rf "${workdir:?}/$env"' in script
    assert not re.search(r"\b\d+\.\d+\.\d+\b|torch\d", script)


def test_template_readme_names_only_listed_releases():
    readme = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
    pinned = set(re.findall(r"torch==(\d+\.\d+\.\d+)", readme))
    assert pinned == {DEFAULT}, "the README's quick start installs the default release"
    section = readme.split("## Supported PyTorch releases", 1)[1].split("\n## ", 1)[0]
    for minor, release in zip(MINORS, RELEASES, strict=True):
        # The measured times: a row per release.
        assert re.search(rf"^\| `generated-torch{re.escape(minor)}` \| {release} ", section, re.M)
    assert "_torch_releases" in section


def test_project_template_sources_hold_no_release_of_their_own():
    # The files cookiecutter renders take releases from cookiecutter.json; a
    # pin or factor written into one of them would be a copy to forget.
    copies = []
    for path in sorted(PROJECT_TEMPLATE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in re.finditer(r"torch==\d|torch\d+\.\d+:|tests-torch\d+\.\d", text):
                line = text.count("\n", 0, match.start()) + 1
                copies.append(f"{path.relative_to(PROJECT_TEMPLATE)}:{line}: {match.group()}")
    assert copies == []


# --- Rendered files: they agree -----------------------------------------------------------


def load_module(path, name):
    """Import a rendered module, writing no bytecode into the shared rendered project."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module


def test_loader_refuses_every_release_but_the_listed_ones(default_project, monkeypatch):
    loader = load_module(next(default_project.glob("src/*/_loader.py")), "rendered_loader")
    assert tuple(RELEASES) == loader.TESTED_TORCH
    assert loader.DEFAULT_TORCH == DEFAULT
    assert [f"{a}.{b}" for a, b in loader.SUPPORTED_TORCH] == MINORS
    newer = f"{NEWEST[0]}.{NEWEST[1] + 1}.0"
    for version in RELEASES:
        loader.check_torch_version(version)
    monkeypatch.delenv(loader.ALLOW_UNTESTED_TORCH_VARIABLE, raising=False)
    try:
        loader.check_torch_version(newer)
    except loader.UnsupportedTorchError as refusal:
        message = str(refusal)
    else:
        raise AssertionError(f"torch {newer} was not refused")
    assert message == (
        f"fake_mtia_backend supports torch {', '.join(MINORS)}; this is torch {newer}. "
        f"Install a supported release (for example pip install torch=={DEFAULT}), "
        f"or set FAKE_MTIA_BACKEND_ALLOW_UNTESTED_TORCH=1 to try this one anyway."
    )


def test_generated_tox_has_an_env_per_release(default_project):
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(default_project / "tox.ini", encoding="utf-8")
    label = tox["tox"]["labels"].strip()
    assert label == "torch = " + ", ".join(f"tests-torch{minor}" for minor in MINORS)
    check_pins(tox[factor_section(tox, "tests")]["deps"])


def test_generated_ci_takes_its_matrix_from_the_generated_tox(default_project, tmp_path):
    workflow = yaml.safe_load((default_project / ".github/workflows/ci.yml").read_text())
    jobs = workflow["jobs"]
    assert jobs["tests"]["needs"] == "releases"
    matrix = jobs["tests"]["strategy"]["matrix"]["torch"]
    assert matrix == "${{ fromJSON(needs.releases.outputs.torch) }}"
    (step,) = [step for step in jobs["releases"]["steps"] if step.get("shell") == "python"]
    output = tmp_path / "github_output"
    subprocess.run(
        [sys.executable, "-c", step["run"]],
        cwd=default_project,
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
        check=True,
    )
    assert output.read_text() == f"torch={json.dumps(MINORS)}\n"


def test_generated_metadata_header_setup_and_readme_agree(default_project):
    metadata = tomllib.loads((default_project / "pyproject.toml").read_text(encoding="utf-8"))
    assert metadata["project"]["dependencies"] == [TORCH_RANGE]
    header = (default_project / "csrc" / "device_config.h").read_text(encoding="utf-8")
    oldest = RELEASES[0].split(".")
    assert f"kOldestTorchMajor = {oldest[0]};" in header
    assert f"kOldestTorchMinor = {oldest[1]};" in header
    setup = (default_project / "setup.py").read_text(encoding="utf-8")
    assert set(re.findall(r"torch==(\S+?)\)", setup)) == {DEFAULT}
    readme = (default_project / "README.md").read_text(encoding="utf-8")
    assert set(re.findall(r"torch==(\d+\.\d+\.\d+)", readme)) == {DEFAULT}
    section = readme.split("## Supported PyTorch releases", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"\*\*(\d+\.\d+\.\d+)\*\*", section)) == set(RELEASES)
    assert f"`{TORCH_RANGE}`" in section
