"""Work runs asynchronously, in stream order, and synchronization waits for it.

Times are measured on a possibly loaded machine: the tests assert orderings
and lower bounds, and keep upper bounds generous.
"""

import time

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def timing_event():
    return torch.Event(device=f"{DEVICE}:0", enable_timing=True)


def test_event_is_pending_until_its_stream_reaches_it():
    stream = torch.Stream(device=f"{DEVICE}:0")
    backend.sleep(150, stream)
    event = stream.record_event()
    assert not event.query()
    event.synchronize()
    assert event.query()
    assert stream.query()


def test_elapsed_time_measures_queued_busy_time():
    stream = torch.Stream(device=f"{DEVICE}:0")
    start, end = timing_event(), timing_event()
    start.record(stream)
    backend.sleep(120, stream)
    end.record(stream)
    end.synchronize()
    assert 120 <= start.elapsed_time(end) < 5000


def test_busy_periods_on_one_stream_run_one_after_another():
    stream = torch.Stream(device=f"{DEVICE}:0")
    start, end = timing_event(), timing_event()
    start.record(stream)
    backend.sleep(60, stream)
    backend.sleep(60, stream)
    end.record(stream)
    end.synchronize()
    assert start.elapsed_time(end) >= 120


@pytest.mark.emulator  # the emulator runs streams side by side; hardware need not
def test_busy_periods_on_different_streams_overlap():
    streams = [torch.Stream(device=f"{DEVICE}:0") for _ in range(4)]
    started = time.perf_counter()
    for stream in streams:
        backend.sleep(200, stream)
    device_module.synchronize(f"{DEVICE}:0")
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.2
    assert elapsed < 0.6  # one after another would take 0.8 s


def test_wait_event_holds_back_later_work_on_a_stream_of_another_device(other_device):
    producer = torch.Stream(device=f"{DEVICE}:0")
    consumer = torch.Stream(device=f"{DEVICE}:{other_device}")
    consumer_start = torch.Event(device=f"{DEVICE}:{other_device}", enable_timing=True)
    consumer_done = torch.Event(device=f"{DEVICE}:{other_device}", enable_timing=True)
    consumer_start.record(consumer)
    backend.sleep(150, producer)
    consumer.wait_event(producer.record_event())
    consumer_done.record(consumer)
    assert not consumer_done.query()
    consumer_done.synchronize()
    assert consumer_start.elapsed_time(consumer_done) >= 150


@pytest.mark.parametrize(
    "wait",
    [
        pytest.param(
            lambda producer, consumer: consumer.wait_event(producer.record_event()),
            id="Stream.wait_event",
        ),
        pytest.param(
            lambda producer, consumer: producer.record_event().wait(consumer), id="Event.wait"
        ),
        pytest.param(
            lambda producer, consumer: consumer.wait_stream(producer), id="Stream.wait_stream"
        ),
    ],
)
def test_waiting_holds_back_later_work_on_the_waiting_stream(wait):
    producer, consumer = torch.Stream(device=f"{DEVICE}:0"), torch.Stream(device=f"{DEVICE}:0")
    start, done = timing_event(), timing_event()
    start.record(consumer)
    backend.sleep(150, producer)
    wait(producer, consumer)
    done.record(consumer)
    assert not consumer.query()
    done.synchronize()
    assert start.elapsed_time(done) >= 150


def test_waiting_on_an_unrecorded_event_waits_for_nothing():
    stream = torch.Stream(device=f"{DEVICE}:0")
    stream.wait_event(torch.Event(device=f"{DEVICE}:0"))
    assert stream.query()


def test_work_queued_after_a_wait_still_runs_in_order():
    producer, consumer = torch.Stream(device=f"{DEVICE}:0"), torch.Stream(device=f"{DEVICE}:0")
    backend.sleep(100, producer)
    consumer.wait_stream(producer)
    backend.sleep(50, consumer)
    start, end = timing_event(), timing_event()
    start.record(producer)
    end.record(consumer)
    end.synchronize()
    assert start.elapsed_time(end) >= 50


def test_stream_synchronize_waits_only_for_that_stream():
    slow, fast = torch.Stream(device=f"{DEVICE}:0"), torch.Stream(device=f"{DEVICE}:0")
    backend.sleep(400, slow)
    backend.sleep(20, fast)
    fast.synchronize()
    assert not slow.query()
    slow.synchronize()


def test_device_synchronize_waits_for_every_stream_of_the_device():
    streams = [torch.Stream(device=f"{DEVICE}:0") for _ in range(3)]
    started = time.perf_counter()  # before queueing: the longest busy period ends >= 0.15 s later
    for index, stream in enumerate(streams):
        backend.sleep(50 * (index + 1), stream)
    torch.accelerator.synchronize(0)
    assert time.perf_counter() - started >= 0.15
    assert all(stream.query() for stream in streams)


def test_device_module_synchronize_waits_for_the_current_device(other_device):
    stream = torch.Stream(device=f"{DEVICE}:{other_device}")
    backend.sleep(200, stream)
    assert not stream.query()
    with device_module.device(other_device):
        device_module.synchronize()
    assert stream.query()


def test_device_synchronize_leaves_other_devices_alone(other_device):
    busy = torch.Stream(device=f"{DEVICE}:{other_device}")
    backend.sleep(400, busy)
    torch.accelerator.synchronize(0)
    assert not busy.query()
    busy.synchronize()


def test_default_stream_is_asynchronous_too():
    stream = device_module.default_stream(0)
    backend.sleep(200, stream)
    assert not device_module.current_stream(0).query()
    device_module.current_stream(0).synchronize()
    assert stream.query()
