"""The emulated runtime's own C++ tests (csrc/runtime/tests/), without torch.

They are compiled straight from the runtime's sources, once plainly and once
with ThreadSanitizer, which reports any data race between the runtime's
threads and its callers.
"""

import os
import subprocess

from {{ cookiecutter.package_name }} import _loader

CSRC = _loader.CSRC
SOURCES = [*_loader.runtime_sources(), CSRC / "runtime" / "tests" / "runtime_test.cpp"]


def build_and_run(tmp_path, *extra_flags):
    binary = tmp_path / "runtime_test"
    compiler = os.environ.get("CXX", "c++")
    build = [compiler, "-std=c++17", "-O1", "-g", "-pthread", *extra_flags, f"-I{CSRC}"]
    subprocess.run([*build, *map(str, SOURCES), "-o", str(binary)], check=True)
    return subprocess.run(
        [str(binary)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TSAN_OPTIONS": "halt_on_error=1 second_deadlock_stack=1"},
    )


def assert_all_passed(result):
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "0 failure(s)" in result.stdout, report
    assert "FAIL" not in result.stdout, report


def test_runtime_tests_pass(tmp_path):
    assert_all_passed(build_and_run(tmp_path))


def test_runtime_tests_pass_under_thread_sanitizer(tmp_path):
    result = build_and_run(tmp_path, "-fsanitize=thread")
    assert "ThreadSanitizer" not in result.stderr, result.stderr
    assert_all_passed(result)
