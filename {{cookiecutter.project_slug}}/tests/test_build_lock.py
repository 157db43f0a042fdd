"""One build of a folder at a time, and never a silent wait: the lock a
killed build leaves behind is removed, a build running in another process is
waited for with a message, and that wait gives up, saying why, after a limit.

These use this checkout's build folder, which conftest has built: each import
here loads the cached build.
"""

import os
import select
import signal
import time

import pytest
from checkout_python import run_python, start_python

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

PACKAGE = backend.__name__
IMPORT = f"import {PACKAGE}\nprint({PACKAGE}.load().__name__)\n"

# What a build killed by SIGKILL (or SIGTERM: the same, for this) leaves: it
# held the loader's flock, which the OS drops, and torch's lock: up to torch
# 2.13 a FileBaton, a file that stays; from 2.14 an flock, which the OS drops.
KILLED_BUILD = (
    "import fcntl, os, signal, sys\n"
    "from torch.utils import cpp_extension\n"
    "held = open(sys.argv[1], 'a+')\n"
    "fcntl.flock(held, fcntl.LOCK_EX)\n"
    "if hasattr(cpp_extension, 'FileBaton'):\n"
    "    assert cpp_extension.FileBaton(sys.argv[2]).try_acquire()\n"
    "else:\n"
    "    cpp_extension.FileLock(sys.argv[2]).acquire()\n"
    "os.kill(os.getpid(), signal.SIGKILL)\n"
)


@pytest.fixture
def build_dir():
    """This checkout's build folder, left without a torch lock file whatever happens."""
    folder = _loader.build_directory()
    yield folder
    (folder / _loader.TORCH_LOCK_NAME).unlink(missing_ok=True)


def read_stderr_until(process, text, seconds):
    """The process's stderr up to a chunk holding ``text``; fail after ``seconds``."""
    seen = b""
    deadline = time.monotonic() + seconds
    while text.encode() not in seen:
        ready, _, _ = select.select([process.stderr], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(process.stderr.fileno(), 65536) if ready else b""
        if not chunk:
            process.kill()
            raise AssertionError(f"no {text!r} on stderr within {seconds} s: {seen.decode()!r}")
        seen += chunk
    return seen.decode()


def test_import_after_a_killed_build_loads_and_removes_a_lock_that_would_block(build_dir):
    torch_lock = build_dir / _loader.TORCH_LOCK_NAME
    killed = run_python(
        "-c", KILLED_BUILD, str(build_dir / _loader.BUILD_LOCK_NAME), str(torch_lock), timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert torch_lock.exists()
    result = run_python("-c", IMPORT, timeout=120)  # torch alone would wait forever
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == _loader.EXTENSION_NAME
    if _loader.torch_lock_is_a_baton():
        assert f"removed {torch_lock}, left by a build that was killed" in result.stderr
        assert not torch_lock.exists()
    else:  # the OS dropped the killed build's flock: nothing to remove, nothing to say
        assert f"{PACKAGE}:" not in result.stderr


def test_import_waits_with_a_message_for_a_build_in_another_process(build_dir):
    with _loader.build_lock(build_dir):  # as another process building this folder would
        waiting = start_python("-c", IMPORT)
        try:
            message = read_stderr_until(waiting, "to finish building", seconds=120)
        except BaseException:
            waiting.kill()
            raise
    stdout, _ = waiting.communicate(timeout=120)
    assert f"waiting for process {os.getpid()} to finish building {build_dir}" in message
    assert waiting.returncode == 0
    assert stdout.decode().strip() == _loader.EXTENSION_NAME


def test_wait_for_another_build_gives_up_after_the_limit_saying_why(build_dir):
    with _loader.build_lock(build_dir):
        started = time.monotonic()
        result = run_python("-c", IMPORT, timeout=120, **{_loader.BUILD_WAIT_VARIABLE: "1"})
        seconds = time.monotonic() - started
    assert result.returncode != 0
    assert (
        f"TimeoutError: {PACKAGE}: gave up after 1 s waiting for process {os.getpid()} "
        f"to finish building {build_dir}"
    ) in result.stderr
    assert f"set {_loader.BUILD_WAIT_VARIABLE} to wait longer" in result.stderr
    assert seconds < 60


@pytest.mark.parametrize("setting", ["0", "-5", "soon", "inf", "nan"])
def test_bad_wait_limit_is_refused_naming_the_variable(monkeypatch, setting):
    monkeypatch.setenv(_loader.BUILD_WAIT_VARIABLE, setting)
    with pytest.raises(ValueError, match=f"{_loader.BUILD_WAIT_VARIABLE} must be a number"):
        _loader.build_wait_seconds()


def test_wait_limit_defaults_to_ten_minutes(monkeypatch):
    monkeypatch.delenv(_loader.BUILD_WAIT_VARIABLE, raising=False)
    assert _loader.build_wait_seconds() == 600
