"""The torch releases the backend supports, where they are listed, and what each one adds.

The list is ``_loader.TESTED_TORCH`` (rendered from the template's
``_torch_releases``); every other file that names releases is checked
against it here, so that adding a release cannot miss one of them.
"""

import configparser
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
import torch
from checkout_python import PROJECT_ROOT, run_python

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)

TORCH_RELEASE = _loader.torch_release(torch.__version__)
MINORS = [f"{major}.{minor}" for major, minor in _loader.SUPPORTED_TORCH]
OLDEST, NEWEST = _loader.SUPPORTED_TORCH[0], _loader.SUPPORTED_TORCH[-1]
# pyproject.toml's range: from the oldest tested patch release to the next minor release.
TORCH_RANGE = f"torch>={_loader.TESTED_TORCH[0]},<{NEWEST[0]}.{NEWEST[1] + 1}"


def test_running_torch_is_a_supported_release():
    assert TORCH_RELEASE in _loader.SUPPORTED_TORCH


# --- The list, and everything that repeats it ----------------------------------------


def test_tested_releases_are_every_minor_release_from_the_oldest_to_the_newest():
    assert tuple(map(_loader.torch_release, _loader.TESTED_TORCH)) == _loader.SUPPORTED_TORCH
    for earlier, later in zip(_loader.SUPPORTED_TORCH, _loader.SUPPORTED_TORCH[1:], strict=False):
        assert later == (earlier[0], earlier[1] + 1), "a gap would be inside pyproject's range"
    assert _loader.DEFAULT_TORCH in _loader.TESTED_TORCH


def tox_config() -> configparser.ConfigParser:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(PROJECT_ROOT / "tox.ini", encoding="utf-8")
    return tox


def test_tox_has_an_env_per_release_pinned_to_its_tested_patch_release():
    tox = tox_config()
    labels = dict(
        (name.strip(), [env.strip() for env in envs.split(",")])
        for name, envs in (line.split("=", 1) for line in tox["tox"]["labels"].split("\n") if line)
    )
    assert labels["torch"] == [f"tests-torch{minor}" for minor in MINORS]
    factors = "".join(f",-torch{minor}" for minor in MINORS)
    deps = tox["testenv:tests{" + factors + "}"]["deps"].split("\n")
    pins = dict(line.split(": ", 1) for line in deps if ": " in line)
    expected = {
        f"torch{m}": f"torch=={v}" for m, v in zip(MINORS, _loader.TESTED_TORCH, strict=True)
    }
    assert {factor: pin for factor, pin in pins.items() if not factor.startswith("!")} == expected
    # Plain `tox -e tests`, which names no release, installs the default one.
    default = "-".join(f"!torch{minor}" for minor in MINORS)
    assert pins[default] == f"torch=={_loader.DEFAULT_TORCH}"


def test_ci_takes_its_matrix_from_tox(tmp_path):
    # The workflow's `releases` job runs a Python script that reads tox.ini's
    # `torch` label; run it here, in the project folder, as GitHub would.
    workflow = (PROJECT_ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    script = re.search(r"shell: python\n\s+run: \|\n((?:\s{10}.*\n|\n)+)", workflow)
    assert script is not None, "no Python step in the workflow's releases job"
    output = tmp_path / "github_output"
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script.group(1))],
        cwd=PROJECT_ROOT,
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_text() == f"torch={json.dumps(MINORS)}\n"
    assert "torch: ${" + "{ fromJSON(needs.releases.outputs.torch) }}" in workflow


def test_pyproject_declares_the_range_from_the_oldest_to_the_newest_release():
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.findall(r'"(torch[<>=!~].*?)"', pyproject) == [TORCH_RANGE]


def test_the_config_header_names_the_oldest_release():
    header = (PROJECT_ROOT / "csrc" / "device_config.h").read_text(encoding="utf-8")
    assert f"kOldestTorchMajor = {OLDEST[0]};" in header
    assert f"kOldestTorchMinor = {OLDEST[1]};" in header


def test_setup_and_readme_name_the_releases():
    setup = (PROJECT_ROOT / "setup.py").read_text(encoding="utf-8")
    assert f"pip install torch=={_loader.DEFAULT_TORCH}" in setup
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"pip install torch=={_loader.DEFAULT_TORCH} " in readme  # the quick start
    section = readme.split("## Supported PyTorch releases", 1)[1].split("\n## ", 1)[0]
    assert f"`{TORCH_RANGE}`" in section
    for version in _loader.TESTED_TORCH:
        assert f"**{version}**" in section, version
    mentioned = set(re.findall(r"\*\*(\d+\.\d+\.\d+)\*\*", section))
    assert mentioned == set(_loader.TESTED_TORCH)


# --- The check at import ------------------------------------------------------------


@pytest.mark.parametrize(
    "version",
    [
        *_loader.TESTED_TORCH,
        *(f"{version}+cpu" for version in _loader.TESTED_TORCH),
        f"{_loader.TESTED_TORCH[0]}+cu128",
        f"{NEWEST[0]}.{NEWEST[1]}.9",  # a later patch release of a supported minor one
    ],
)
def test_supported_releases_pass_the_check(version):
    _loader.check_torch_version(version)


@pytest.mark.parametrize(
    "version",
    [
        f"{OLDEST[0]}.{OLDEST[1] - 1}.0",  # the release before the oldest
        f"{NEWEST[0]}.{NEWEST[1] + 1}.0",  # the next release: untested until added
        f"{NEWEST[0]}.{NEWEST[1] + 1}.0+cpu",
        f"{NEWEST[0] + 1}.0.0",
        "1.13.1",
    ],
)
def test_other_releases_are_refused_with_a_clear_error(version, monkeypatch):
    monkeypatch.delenv(_loader.ALLOW_UNTESTED_TORCH_VARIABLE, raising=False)
    with pytest.raises(_loader.UnsupportedTorchError) as refusal:
        _loader.check_torch_version(version)
    message = str(refusal.value)
    assert f"this is torch {version}" in message
    assert f"supports torch {', '.join(MINORS)};" in message
    assert f"pip install torch=={_loader.DEFAULT_TORCH}" in message
    assert _loader.ALLOW_UNTESTED_TORCH_VARIABLE in message


def test_untested_release_can_be_allowed_explicitly(monkeypatch):
    monkeypatch.setenv(_loader.ALLOW_UNTESTED_TORCH_VARIABLE, "1")
    _loader.check_torch_version(f"{NEWEST[0]}.{NEWEST[1] + 1}.0")


def test_unreadable_version_is_refused():
    with pytest.raises(_loader.UnsupportedTorchError, match="cannot read the torch version"):
        _loader.check_torch_version("nightly")


@pytest.mark.parametrize("version", [f"{NEWEST[0]}.{NEWEST[1] + 1}.0", "2.8.0"])
def test_unsupported_torch_fails_at_import_before_any_compiler_runs(version, tmp_path):
    code = f"import torch\ntorch.__version__ = {version!r}\nimport {backend.__name__}\n"
    # An empty extension cache: a build would start there.
    result = run_python("-c", code, TORCH_EXTENSIONS_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "UnsupportedTorchError" in result.stderr
    assert f"this is torch {version}" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing was built


# --- What each release adds (csrc/backend/torch_version.h's guards) --------------------


def test_device_capability_from_2_10_absent_before(supported_dtypes):
    if TORCH_RELEASE >= (2, 10):
        capability = torch.accelerator.get_device_capability(f"{DEVICE}:0")
        assert capability["supported_dtypes"] == supported_dtypes
    else:  # no such API: a clear error, no crash
        with pytest.raises(AttributeError):
            torch.accelerator.get_device_capability(f"{DEVICE}:0")


def test_memory_info_from_2_10_absent_before():
    if TORCH_RELEASE >= (2, 10):
        free, total = torch.accelerator.get_memory_info(f"{DEVICE}:0")
        assert 0 <= free <= total
    else:
        with pytest.raises(AttributeError):
            torch.accelerator.get_memory_info(f"{DEVICE}:0")


def test_device_graphs_from_2_10_absent_before():
    graph_class = f"{DEVICE.upper()}Graph"
    if TORCH_RELEASE >= (2, 10):
        graph = getattr(device_module, graph_class)()  # see test_graphs.py
        assert isinstance(graph, getattr(torch._C, f"_{graph_class}"))
    else:
        assert not hasattr(device_module, graph_class)


def test_stream_native_handle_from_2_11_absent_before():
    stream = torch.Stream(device=f"{DEVICE}:0")
    if TORCH_RELEASE >= (2, 11):
        assert stream.native_handle == stream.stream_id
        assert device_module.default_stream(0).native_handle == 0
    else:
        with pytest.raises(AttributeError):
            _ = stream.native_handle


def test_stream_is_capturing_from_2_12_absent_before():
    stream = torch.Stream(device=f"{DEVICE}:0")
    if TORCH_RELEASE >= (2, 12):
        assert stream.is_capturing() is False  # 2.12's default would throw
    else:
        with pytest.raises(AttributeError):
            stream.is_capturing()


def test_current_stream_capturing_from_2_15_absent_before():
    if TORCH_RELEASE >= (2, 15):
        assert device_module.is_current_stream_capturing() is False
    else:
        assert not hasattr(device_module, "is_current_stream_capturing")
