"""The interpreter exits promptly and cleanly with work still queued."""

import time

from checkout_python import run_python


def run_script(body):
    code = "import torch\nimport {{ cookiecutter.package_name }} as backend\n" + body
    started = time.perf_counter()
    result = run_python("-c", code, timeout=120)
    return result, time.perf_counter() - started


def test_exit_with_a_long_busy_period_queued():
    result, seconds = run_script(
        "stream = torch.Stream(device='mtia:0')\n"
        "backend.sleep(60_000, stream)\n"
        "event = stream.record_event()\n"
        "torch.Stream(device='mtia:0').wait_event(event)\n"
        "print('queued')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "queued"
    assert seconds < 30  # the queued minute of work was dropped, not waited for


def test_exit_from_sys_exit_with_work_on_every_device():
    result, _ = run_script(
        "import sys\n"
        "for index in range(torch.mtia.device_count()):\n"
        "    for _ in range(3):\n"
        "        backend.sleep(30_000, torch.Stream(device=f'mtia:{index}'))\n"
        "sys.exit(3)\n"
    )
    assert result.returncode == 3, result.stderr


def test_work_submitted_by_atexit_handlers_registered_later_still_runs():
    result, _ = run_script(
        "import atexit\n"
        "stream = torch.Stream(device='mtia:0')\n"
        "def finish():\n"
        "    backend.sleep(50, stream)\n"
        "    stream.synchronize()\n"
        "    print('finished', stream.query())\n"
        "atexit.register(finish)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "finished True"
