"""The emulator's worker threads are bounded, and a refused thread is reported.

Thousands of streams with work cost at most ``max_worker_threads()``
threads, and all their work runs. When the system refuses a new thread,
submitting work raises a RuntimeError that says so, and synchronizing
returns instead of waiting for work that would never run.
"""

import json
import os
import resource
import subprocess
import sys
import threading
import time

import pytest
import torch
from checkout_python import PROJECT_ROOT

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
# The worker threads are the emulator's own.
pytestmark = pytest.mark.emulator

STREAMS = 2000


def process_threads() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line in /proc/self/status")


def wait_for_idle_workers(extension, seconds=10.0):
    """Idle workers leave after a short spell; wait until none is left."""
    deadline = time.monotonic() + seconds
    while extension.worker_thread_count() > 0:
        assert time.monotonic() < deadline, "the worker threads never left"
        time.sleep(0.01)


def test_two_thousand_busy_streams_stay_within_the_worker_bound():
    extension = backend.load()
    bound = extension.max_worker_threads()
    assert bound >= 1
    streams = [torch.Stream(device=f"{DEVICE}:0") for _ in range(STREAMS)]
    values = torch.zeros(STREAMS, device=f"{DEVICE}:0")
    device_module.synchronize()
    wait_for_idle_workers(extension)

    samples = []  # (threads of the process, worker threads)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append((process_threads(), extension.worker_thread_count()))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        baseline = process_threads()  # with the sampler, without workers
        for index, stream in enumerate(streams):
            # The busy periods end together: every stream wants a worker at once.
            backend.sleep(50, stream)
            with device_module.stream(stream):
                values[index].fill_(index + 1)
        device_module.synchronize()
    finally:
        stop.set()
        sampler.join()
    assert max(workers for _, workers in samples) >= 1  # the sampler saw them work
    assert max(workers for _, workers in samples) <= bound
    assert max(threads for threads, _ in samples) <= baseline + bound
    assert torch.equal(values.cpu(), torch.arange(1, STREAMS + 1, dtype=torch.float32))


# Runs in a fresh interpreter whose threads need a 64 MiB stack (RLIMIT_STACK,
# set before it starts): once the address space is capped a little above
# what it uses, no new thread fits. Prints one JSON line.
REFUSED_THREAD_SCRIPT = """
import json, resource, threading, time
import torch
import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
extension = backend.load()
x = torch.empty(4, device=DEVICE)  # memory needs no worker thread
stream = torch.Stream(device=DEVICE)
device_module.synchronize()
deadline = time.monotonic() + 10
while extension.worker_thread_count() and time.monotonic() < deadline:
    time.sleep(0.01)  # idle workers leave after a short spell
report = {"workers_before": extension.worker_thread_count()}


def address_space():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024


soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (address_space() + 16 * 2**20, hard))
try:
    threading.Thread(target=lambda: None).start()
    report["provoked"] = False
except RuntimeError:
    report["provoked"] = True
if report["provoked"]:
    submissions = (("sleep", lambda: backend.sleep(10, stream)), ("fill", lambda: x.fill_(3)))
    for name, submit in submissions:
        try:
            submit()
            report[name] = None
        except RuntimeError as error:
            report[name] = str(error)
    started = time.monotonic()
    device_module.synchronize()
    stream.synchronize()
    report["synchronize_seconds"] = time.monotonic() - started
    report["idle"] = stream.query()
resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
x.fill_(3)
report["after"] = (x + 1).cpu().tolist()
print(json.dumps(report))
"""


def larger_thread_stacks():
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    wanted = 64 * 2**20
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))


def test_a_worker_that_cannot_start_is_reported_and_synchronize_returns():
    # Like checkout_python.run_python, with the stack limit set in the child.
    result = subprocess.run(
        [sys.executable, "-c", REFUSED_THREAD_SCRIPT],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=larger_thread_stacks,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    if not report["provoked"]:
        pytest.skip("capping the address space did not stop thread creation here")
    assert report["workers_before"] == 0
    for name in ("sleep", "fill"):
        assert report[name] is not None, f"{name} was accepted without a worker"
        assert "could not start a worker thread" in report[name]
        assert "\n" not in report[name]
    assert report["synchronize_seconds"] < 5  # returned: nothing was left queued
    assert report["idle"] is True
    assert report["after"] == [4.0, 4.0, 4.0, 4.0]  # threads start again once allowed
