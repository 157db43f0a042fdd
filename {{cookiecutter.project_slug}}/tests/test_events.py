"""Events: creation on first record, ids, timing, waiting and querying."""

import time

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE


def test_seed_stream_event_semantics():
    # PyTorch's own test of its fake MTIA device (test_cpp_extensions_stream_and_event.py).
    stream = torch.Stream(device=f"{DEVICE}:0")
    event = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    later = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    assert event.device.type == DEVICE
    assert event.event_id == 0  # no device event until the first record
    stream.record_event(event)
    later.record(stream)
    assert event.event_id != 0
    untimed = stream.record_event()  # record_event() makes an event without timing
    assert untimed.event_id not in (0, event.event_id)
    event.synchronize()
    later.synchronize()
    untimed.synchronize()
    assert event.elapsed_time(later) >= 0
    with pytest.raises(
        ValueError, match="Both events must be created with argument 'enable_timing=True'"
    ):
        event.elapsed_time(untimed)
    old_id = event.event_id
    event.record(stream)
    assert event.event_id == old_id


def test_elapsed_time_measures_the_time_between_records():
    stream = torch.Stream(device=f"{DEVICE}:0")
    start = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    end = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    start.record(stream)
    time.sleep(0.05)
    end.record(stream)
    end.synchronize()
    elapsed = start.elapsed_time(end)
    assert 50 <= elapsed < 5000
    assert end.elapsed_time(start) == pytest.approx(-elapsed)


def test_elapsed_time_of_an_unrecorded_event_is_refused():
    recorded = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    recorded.record(torch.Stream(device=f"{DEVICE}:0"))
    unrecorded = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    with pytest.raises(ValueError, match="Both events must be recorded"):
        recorded.elapsed_time(unrecorded)


def test_unrecorded_event_is_complete_and_waits_for_nothing():
    event = torch.Event(device=f"{DEVICE}:0")
    assert event.query()
    event.synchronize()
    event.wait(torch.Stream(device=f"{DEVICE}:0"))
    assert event.event_id == 0


def test_recorded_event_completes_and_can_be_waited_on():
    stream = torch.Stream(device=f"{DEVICE}:0")
    event = stream.record_event()
    event.synchronize()
    assert event.query()
    other = torch.Stream(device=f"{DEVICE}:0")
    event.wait(other)
    other.wait_event(event)
    assert other.query()


def test_event_recorded_on_the_current_stream_by_default():
    event = torch.Event(device=f"{DEVICE}:0")
    event.record()
    assert event.event_id != 0
    assert event.device == torch.device(f"{DEVICE}:0")


def test_event_takes_the_device_of_its_first_stream(other_device):
    event = torch.Event(device=DEVICE, enable_timing=True)
    event.record(torch.Stream(device=f"{DEVICE}:{other_device}"))
    assert event.device == torch.device(DEVICE, other_device)


def test_event_cannot_move_to_another_device(other_device):
    event = torch.Event(device=f"{DEVICE}:0")
    event.record(torch.Stream(device=f"{DEVICE}:0"))
    with pytest.raises(
        RuntimeError, match=f"cannot be recorded on a stream of device index {other_device}"
    ):
        event.record(torch.Stream(device=f"{DEVICE}:{other_device}"))


def test_event_ids_are_distinct():
    stream = torch.Stream(device=f"{DEVICE}:0")
    events = [stream.record_event() for _ in range(100)]
    assert len({event.event_id for event in events}) == 100


def test_event_repr_names_device_and_id():
    event = torch.Stream(device=f"{DEVICE}:0").record_event()
    assert f"device_type={DEVICE}" in repr(event)
    assert f"event_id={event.event_id}" in repr(event)


def test_elapsed_time_between_events_of_two_devices_is_refused(other_device):
    first, second = torch.Event(enable_timing=True), torch.Event(enable_timing=True)
    first.record(torch.Stream(device=f"{DEVICE}:0"))
    second.record(torch.Stream(device=f"{DEVICE}:{other_device}"))
    first.synchronize()
    second.synchronize()
    with pytest.raises(RuntimeError, match="elapsed time between events of two devices"):
        first.elapsed_time(second)
