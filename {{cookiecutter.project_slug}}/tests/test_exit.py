"""The interpreter exits promptly and cleanly with work still queued."""

import time

import pytest
from checkout_python import run_python

# The emulator drops the work still queued when the interpreter exits; a real
# device may finish a busy kernel first, so prompt exits are the emulator's.
drops_queued_work_at_exit = pytest.mark.emulator


def run_script(body):
    code = (
        "import torch\n"
        "import {{ cookiecutter.package_name }} as backend\n"
        "DEVICE = backend.DEVICE_TYPE\n"
        "device_module = torch.get_device_module(DEVICE)\n"
    ) + body
    started = time.perf_counter()
    result = run_python("-c", code, timeout=120)
    return result, time.perf_counter() - started


@drops_queued_work_at_exit
def test_exit_with_a_long_busy_period_queued():
    result, seconds = run_script(
        "stream = torch.Stream(device=f'{DEVICE}:0')\n"
        "backend.sleep(60_000, stream)\n"
        "event = stream.record_event()\n"
        "torch.Stream(device=f'{DEVICE}:0').wait_event(event)\n"
        "print('queued')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "queued"
    assert seconds < 30  # the queued minute of work was dropped, not waited for


@drops_queued_work_at_exit
def test_exit_from_sys_exit_with_work_on_every_device():
    result, _ = run_script(
        "import sys\n"
        "for index in range(device_module.device_count()):\n"
        "    for _ in range(3):\n"
        "        backend.sleep(30_000, torch.Stream(device=f'{DEVICE}:{index}'))\n"
        "sys.exit(3)\n"
    )
    assert result.returncode == 3, result.stderr


def test_work_submitted_by_atexit_handlers_registered_later_still_runs():
    result, _ = run_script(
        "import atexit\n"
        "stream = torch.Stream(device=f'{DEVICE}:0')\n"
        "def finish():\n"
        "    backend.sleep(50, stream)\n"
        "    stream.synchronize()\n"
        "    print('finished', stream.query())\n"
        "atexit.register(finish)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "finished True"


@drops_queued_work_at_exit
@pytest.mark.parametrize("waiting_in", ["an operator", "a synchronize", "a copy to the host"])
def test_exit_while_a_daemon_thread_waits_for_a_busy_stream(waiting_in):
    # The exit wakes the thread; it must not go back into the finalizing
    # interpreter (that once aborted the process: "terminate called").
    call = {
        "an operator": "x + 1",
        "a synchronize": "device_module.synchronize()",
        "a copy to the host": "x.cpu()",
    }[waiting_in]
    result, seconds = run_script(
        "import threading, time\n"
        "x = torch.ones(1 << 20, device=DEVICE)\n"
        "backend.sleep(5_000)\n"
        f"threading.Thread(target=lambda: {call}, daemon=True).start()\n"
        "time.sleep(0.3)\n"
        "print('exiting')\n"
    )
    assert result.returncode == 0, result.stderr
    assert "terminate called" not in result.stderr
    assert result.stdout.strip() == "exiting"
    assert seconds < 30
