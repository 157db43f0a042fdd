"""The package built ahead of time: a wheel that needs no compiler, and
PyTorch's device-backend autoload.

The wheel is built once for this module (a full compile, about a minute) with
``pip wheel --no-build-isolation``, as the README says, from a copy of the
sources (the build writes build/), and installed into a folder of its own;
the checks then run in fresh interpreters that cannot reach a compiler or
ninja, and that do not see this source tree.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import {{ cookiecutter.package_name }} as backend

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = backend.__name__
DEVICE = backend.DEVICE_TYPE
# What building the package reads (MANIFEST.in adds csrc/ and benchmarks/).
BUILD_INPUTS = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"]
BUILD_INPUT_FOLDERS = ["src", "csrc", "benchmarks"]


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder holding the installed wheel, as site-packages would."""
    sources = tmp_path_factory.mktemp("sources")
    for name in BUILD_INPUTS:
        shutil.copy2(PROJECT_ROOT / name, sources / name)
    for name in BUILD_INPUT_FOLDERS:
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(PROJECT_ROOT / name, sources / name, ignore=ignore)
    wheels = tmp_path_factory.mktemp("wheels")
    build_wheel = [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps"]
    run([*build_wheel, "--wheel-dir", str(wheels), str(sources)])
    (wheel,) = wheels.glob("*.whl")
    target = tmp_path_factory.mktemp("site")
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)])
    return target


def run_installed(site, tmp_path, code, **environment):
    """Run `code` against the installed package, with no compiler on the PATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "TORCH_DEVICE_BACKEND_AUTOLOAD", "CXX", "CC"}
    }
    env.update(
        PYTHONPATH=str(site),
        PATH=str(tmp_path / "no-tools-here"),
        TORCH_EXTENSIONS_DIR=str(tmp_path / "extensions"),
        **environment,
    )
    return run([sys.executable, "-c", code], cwd=tmp_path, env=env).stdout


# The tests that use the built wheel (`site`) compile the extension a second time.
slow = pytest.mark.slow


@slow
def test_installed_package_loads_its_prebuilt_extension_without_a_compiler(site, tmp_path):
    output = run_installed(
        site,
        tmp_path,
        f"import torch, {PACKAGE}\n"
        f"print({PACKAGE}.load().__name__, {PACKAGE}._loader.is_source_checkout())\n"
        f"print((torch.ones(3, device={DEVICE!r}) + 1).cpu().tolist())\n",
    )
    assert output.split("\n")[:2] == [f"{PACKAGE}._C False", "[2.0, 2.0, 2.0]"]
    assert not (tmp_path / "extensions").exists()  # nothing was compiled


@slow
def test_import_torch_autoloads_the_installed_backend(site, tmp_path):
    output = run_installed(
        site,
        tmp_path,
        "import sys, torch\n"
        f"print({PACKAGE!r} in sys.modules, torch.get_device_module({DEVICE!r}).is_available())\n",
    )
    assert output.strip() == "True True"


@slow
def test_autoload_can_be_turned_off(site, tmp_path):
    output = run_installed(
        site,
        tmp_path,
        "import sys, torch\n"
        f"print({PACKAGE!r} in sys.modules, torch.get_device_module({DEVICE!r}).is_available())\n",
        TORCH_DEVICE_BACKEND_AUTOLOAD="0",
    )
    assert output.strip() == "False False"


def test_source_checkout_builds_just_in_time():
    assert backend._loader.is_source_checkout()
    assert backend.load().__name__ == backend._loader.EXTENSION_NAME
