"""The emulator's own C++ tests (csrc/emulator/tests/driver_test.cpp).

They exercise the emulated device through the driver API alone, without
torch or Python: the test program is compiled from the emulator's C++17
sources (less python.cpp, its pybind11 module) and the test file, once
plainly and once with ThreadSanitizer, which reports any data race between
the emulator's worker threads and its callers.
"""

import os
import re
import subprocess

import pytest

from {{ cookiecutter.package_name }} import _loader

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

CSRC = _loader.CSRC
TEST_SOURCE = CSRC / "emulator" / "tests" / "driver_test.cpp"
SOURCES = [
    *(path for path in _loader.driver_sources("emulator") if path.name != "python.cpp"),
    TEST_SOURCE,
]
# Seconds: compiling takes ~15 s plainly and ~30 s with ThreadSanitizer on a
# loaded two-core machine; the tests run in a few seconds. The test program
# also stops itself when one test runs for two minutes (a deadlock).
COMPILE_TIMEOUT = 600
RUN_TIMEOUT = 600


def build_and_run(tmp_path, *extra_flags):
    binary = tmp_path / "driver_test"
    compiler = os.environ.get("CXX", "c++")
    build = [compiler, "-std=c++17", "-O1", "-g", "-Wall", "-pthread", *extra_flags, f"-I{CSRC}"]
    compiled = subprocess.run(
        [*build, *map(str, SOURCES), "-o", str(binary)],
        capture_output=True,
        text=True,
        timeout=COMPILE_TIMEOUT,
    )
    assert compiled.returncode == 0, compiled.stderr
    return subprocess.run(
        [str(binary)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env={**os.environ, "TSAN_OPTIONS": "halt_on_error=1 second_deadlock_stack=1"},
    )


def assert_all_passed(result):
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "0 failure(s)" in result.stdout, report
    assert "FAIL" not in report, report
    # Every test main() lists ran, and passed.
    declared = re.findall(r'\{"(\w+)",', TEST_SOURCE.read_text(encoding="utf-8"))
    passed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert len(declared) > 20
    assert passed == declared, report


def test_the_sources_are_the_emulator_and_the_test():
    names = {path.name for path in SOURCES}
    assert "scheduler.cpp" in names
    assert "driver_test.cpp" in names
    assert "python.cpp" not in names


def test_emulator_tests_pass(tmp_path):
    assert_all_passed(build_and_run(tmp_path))


def test_emulator_tests_pass_under_thread_sanitizer(tmp_path):
    result = build_and_run(tmp_path, "-fsanitize=thread")
    assert "ThreadSanitizer" not in result.stderr, result.stderr
    assert_all_passed(result)
