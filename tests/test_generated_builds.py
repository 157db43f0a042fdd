"""Rendered projects build and pass their own test suite.

Two projects with other answers than the defaults (tox's ``generated`` env
covers those): one device with quoted names and custom answers, and the most
devices the emulator supports. Each renders into a folder whose path holds a
space and a quote, builds the C++ extension from scratch and runs the
generated pytest suite in a subprocess, as a user would.

Both projects have one package name and share one extensions folder, as two
checkouts of one package on one machine would: each must load its own build.

Their suites leave out the slow tests, which compile a second time, and the
test files that do not read the answers (ANSWER_INDEPENDENT): the
``generated`` envs run those on the defaults, on every torch release. The
project with the most devices runs only the files that depend on the device
count (DEVICE_COUNT_DEPENDENT).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from answer_rules import MAX_DEVICE_COUNT
from render import render

# One package name for both projects: two checkouts of one package.
PACKAGE = "quoted_accel"
QUOTED_DEVICE_NAME = 'Zoë\'s "Fake" \\ Accelerator'
# Test files whose outcome the answers cannot change: torch's operators
# against the CPU (3,500 tests), the emulator's torch-free C++ tests,
# inductor, the benchmarks' scripts.
ANSWER_INDEPENDENT = [
    "tests/test_opinfo_conformance.py",
    "tests/test_emulator.py",
    "tests/test_compile.py",
    "tests/test_benchmarks.py",
]
# Test files that use every device, or the last one: what a device count
# can break (device tables, stream ids that carry their device, one process
# per device).
DEVICE_COUNT_DEPENDENT = [
    "tests/test_devices.py",
    "tests/test_device_indices.py",
    "tests/test_streams.py",
    "tests/test_stream_and_graph_devices.py",
    "tests/test_accelerator.py",
    "tests/test_memory.py",
    "tests/test_threads.py",
    "tests/test_testing_base.py",
    "tests/test_tensors.py",
    "tests/test_exit.py",
]


def run_generated_suite(project: Path, extensions_dir: Path, *arguments: str) -> str:
    """Run the generated tests, less the slow ones; every test selected must have passed,
    skipped or xfailed. ``arguments``: pytest's (test files, say)."""
    ignored = [f"--ignore={path}" for path in ANSWER_INDEPENDENT]
    result = subprocess.run(
        # Not -q: pytest's header says how many tests it collected.
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "not slow"]
        + [*ignored, *arguments],
        cwd=project,
        env={**os.environ, "TORCH_EXTENSIONS_DIR": str(extensions_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    collected = re.search(r"^collected (\d+) items?(?: / (\d+) deselected)?", output, re.M)
    assert collected is not None, output[-6000:]
    selected = int(collected.group(1)) - int(collected.group(2) or 0)
    finished = sum(outcome_count(output, o) for o in ("passed", "skipped", "xfailed"))
    assert outcome_count(output, "failed") == outcome_count(output, "errors?") == 0
    assert outcome_count(output, "passed") > 0
    assert finished == selected, output[-6000:]
    return output


def outcome_count(output: str, outcome: str) -> int:
    """The count pytest's closing summary gives for ``outcome`` (0 if none)."""
    summary = output.strip().splitlines()[-1]
    found = re.search(rf"(\d+) {outcome}\b", summary)
    return int(found.group(1)) if found else 0


def awkward_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("render") / "a folder with 'quotes' and spaces"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def extensions_dir(tmp_path_factory) -> Path:
    """One torch extensions folder for both projects."""
    return tmp_path_factory.mktemp("torch extensions")


@pytest.fixture(scope="module")
def one_device_project(tmp_path_factory, extensions_dir):
    """One device, quoted names, small memory: rendered, built, its suite run."""
    project = render(
        awkward_folder(tmp_path_factory),
        {
            "project_name": "O'Neil's \"Quoted\" Device",
            "package_name": PACKAGE,
            "device_count": "1",
            "device_name": QUOTED_DEVICE_NAME,
            "device_memory_mib": "64",
        },
    )
    return project, run_generated_suite(project, extensions_dir)


@pytest.fixture(scope="module")
def most_devices_project(tmp_path_factory, extensions_dir):
    """The most devices the emulator supports: rendered, built, the tests of every device run."""
    project = render(
        awkward_folder(tmp_path_factory),
        {"device_count": str(MAX_DEVICE_COUNT), "package_name": PACKAGE},
    )
    return project, run_generated_suite(project, extensions_dir, *DEVICE_COUNT_DEPENDENT)


def test_one_device_quoted_names_and_custom_answers_build_and_pass(one_device_project):
    project, output = one_device_project
    assert (project / "src" / PACKAGE).is_dir()
    # With one device, only the tests that switch between two devices skip.
    assert "needs two devices" in output


def test_the_most_devices_the_emulator_supports_build_and_pass(most_devices_project):
    _, output = most_devices_project
    assert outcome_count(output, "skipped") == 0


def test_two_checkouts_of_one_package_each_load_their_own_build(
    one_device_project, most_devices_project, extensions_dir
):
    report = (
        f"import torch, {PACKAGE}\n"
        f"device_module = torch.get_device_module({PACKAGE}.DEVICE_TYPE)\n"
        "print(device_module.device_count())\n"
        "print(device_module.get_device_properties(0)['name'])\n"
    )
    seen = []
    for project, _ in (one_device_project, most_devices_project):
        result = subprocess.run(
            [sys.executable, "-c", report],
            env={
                **os.environ,
                "PYTHONPATH": str(project / "src"),
                "TORCH_EXTENSIONS_DIR": str(extensions_dir),
            },
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        count, name = result.stdout.splitlines()[-2:]
        seen.append((int(count), name))
    assert seen == [(1, QUOTED_DEVICE_NAME), (MAX_DEVICE_COUNT, "Emulated MTIA device")]
    assert len(list((extensions_dir / f"{PACKAGE}_C").iterdir())) == 2  # a folder each
