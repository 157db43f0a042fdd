"""Events are released when torch destroys them, however many are recorded.

The emulator counts its live events (``live_event_count``), which a real
device's driver need not do: these are the emulator's own tests.
"""

import gc

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

pytestmark = pytest.mark.emulator

DEVICE = backend.DEVICE_TYPE


def resident_kib():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def test_recording_200000_events_does_not_grow_memory():
    stream = torch.Stream(device=f"{DEVICE}:0")
    runtime = backend.load()
    for _ in range(20_000):  # warm up allocator pools before measuring
        stream.record_event()
    gc.collect()
    live_before, resident_before = runtime.live_event_count(), resident_kib()
    for _ in range(200_000):
        stream.record_event()
    gc.collect()
    assert runtime.live_event_count() == live_before
    assert resident_kib() - resident_before < 8 * 1024


def test_events_dropped_while_their_record_is_queued_are_freed_once_it_runs():
    stream = torch.Stream(device=f"{DEVICE}:0")
    runtime = backend.load()
    live_before = runtime.live_event_count()
    backend.sleep(300, stream)  # far longer than the loop below takes
    for _ in range(1000):
        stream.record_event()  # dropped at once, its record still queued
    assert runtime.live_event_count() == live_before + 1000
    stream.synchronize()
    assert runtime.live_event_count() == live_before


def test_live_events_are_counted_until_destroyed():
    runtime = backend.load()
    before = runtime.live_event_count()
    events = [torch.Stream(device=f"{DEVICE}:0").record_event() for _ in range(10)]
    assert runtime.live_event_count() == before + 10
    del events
    gc.collect()
    assert runtime.live_event_count() == before
