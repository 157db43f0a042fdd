"""Rendered projects build and pass their own test suite.

Each test renders into a folder whose path holds a space and a quote, builds
the C++ extension from scratch and runs the generated pytest suite in a
subprocess, as a user would. tox's ``generated`` env covers the defaults.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from answer_rules import MAX_DEVICE_COUNT
from render import render


def run_generated_suite(project, extensions_dir):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env={**os.environ, "TORCH_EXTENSIONS_DIR": str(extensions_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def outcome_count(output, outcome):
    found = re.search(rf"(\d+) {outcome}", output)
    return int(found.group(1)) if found else 0


@pytest.fixture
def awkward_output_dir(tmp_path):
    folder = tmp_path / "a folder with 'quotes' and spaces"
    folder.mkdir()
    return folder


def test_one_device_quoted_names_and_custom_answers_build_and_pass(awkward_output_dir, tmp_path):
    project = render(
        awkward_output_dir,
        {
            "project_name": "O'Neil's \"Quoted\" Device",
            "package_name": "quoted_accel",
            "device_count": "1",
            "device_name": 'Zoë\'s "Fake" \\ Accelerator',
            "device_memory_mib": "64",
        },
    )
    assert (project / "src" / "quoted_accel").is_dir()
    output = run_generated_suite(project, tmp_path / "torch extensions")
    assert outcome_count(output, "passed") > 50
    # With one device, only the tests that switch between two devices skip.
    assert "needs two devices" in output
    assert outcome_count(output, "failed") == outcome_count(output, "error") == 0


def test_the_most_devices_the_runtime_supports_build_and_pass(awkward_output_dir, tmp_path):
    project = render(awkward_output_dir, {"device_count": str(MAX_DEVICE_COUNT)})
    output = run_generated_suite(project, tmp_path / "torch extensions")
    assert outcome_count(output, "passed") > 50
    assert outcome_count(output, "skipped") == 0
