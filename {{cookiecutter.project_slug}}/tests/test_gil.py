"""Waiting for the device releases the GIL: other Python threads run meanwhile.

torch calls ``torch.{{ cookiecutter.device_type }}.synchronize()`` and the other blocking waits
with the GIL held; a backend that waits holding it stops every Python thread
for as long as the device works.
"""

import threading
import time

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
BUSY_MS = 1000


def steps_while_waiting(wait) -> tuple[int, float]:
    """Python steps another thread made during ``wait()``, and how long it took."""
    steps = 0
    stop = threading.Event()

    def count():
        nonlocal steps
        while not stop.is_set():
            steps += 1

    started = time.monotonic()
    backend.sleep(BUSY_MS)
    event = device_module.current_stream().record_event()
    counter = threading.Thread(target=count)
    counter.start()
    try:
        # From here until wait() releases the GIL, the counter cannot run.
        before = steps
        wait(event)
        waited = time.monotonic() - started
        during = steps - before
    finally:
        stop.set()
        counter.join()
    return during, waited


@pytest.mark.parametrize(
    "wait",
    [
        pytest.param(lambda event: device_module.synchronize(), id="synchronize"),
        pytest.param(lambda event: torch.accelerator.synchronize(), id="accelerator.synchronize"),
        pytest.param(lambda event: device_module.current_stream().synchronize(), id="stream"),
        pytest.param(lambda event: event.synchronize(), id="event"),
    ],
)
def test_a_wait_lets_other_python_threads_run(wait):
    during, waited = steps_while_waiting(wait)
    assert waited >= BUSY_MS / 1000  # it did wait for the busy period
    # Holding the GIL, the wait lets the counter make no step at all; released,
    # millions in a second. 1000 leaves room for a very loaded machine.
    assert during > 1000
