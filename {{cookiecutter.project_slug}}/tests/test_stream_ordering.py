"""Copies and kernels on device tensors run in stream order.

They are queued on the current stream of the tensor's device, so they start
after the work queued there before them, and a copy to the host waits for
them. Work on another stream is not waited for: code that forgets to
synchronize reads stale data, as it would on real hardware.
"""

import time

import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def test_copy_to_the_device_completes_after_earlier_busy_work():
    stream = torch.Stream(device=f"{DEVICE}:0")
    host = torch.arange(4.0)
    with device_module.stream(stream):
        started = time.perf_counter()  # before queueing: the busy period ends >= 0.15 s later
        backend.sleep(150)
        on_device = host.to(f"{DEVICE}:0")  # a blocking copy waits for its stream
    assert time.perf_counter() - started >= 0.15
    assert torch.equal(on_device.cpu(), host)


def test_non_blocking_copy_returns_at_once_and_lands_in_order():
    stream = torch.Stream(device=f"{DEVICE}:0")
    host = torch.arange(4.0).pin_memory()
    with device_module.stream(stream):
        backend.sleep(400)
        started = time.perf_counter()
        on_device = host.to(f"{DEVICE}:0", non_blocking=True)
        assert time.perf_counter() - started < 0.2  # half the busy period: it did not wait
        assert not stream.query()
        assert torch.equal(on_device.cpu(), host)  # the copy back waits on the same stream


def test_kernels_are_asynchronous_and_ordered():
    tensor = torch.zeros(4, device=f"{DEVICE}:0")
    backend.sleep(150, device_module.current_stream(0))
    tensor.fill_(3)
    tensor.add_(1)  # the CPU fallback waits for the stream before running
    assert torch.equal(tensor.cpu(), torch.full((4,), 4.0))


def test_reading_without_synchronizing_another_stream_sees_stale_data():
    tensor = torch.zeros(4, device=f"{DEVICE}:0")
    writer = torch.Stream(device=f"{DEVICE}:0")
    with device_module.stream(writer):
        backend.sleep(300)
        tensor.fill_(1)
    stale = tensor.cpu()  # on the default stream: does not wait for `writer`
    writer.synchronize()
    assert torch.equal(stale, torch.zeros(4))
    assert torch.equal(tensor.cpu(), torch.ones(4))


def test_waiting_on_the_writer_makes_the_data_visible():
    tensor = torch.zeros(4, device=f"{DEVICE}:0")
    writer = torch.Stream(device=f"{DEVICE}:0")
    with device_module.stream(writer):
        backend.sleep(150)
        tensor.fill_(1)
    device_module.current_stream(0).wait_stream(writer)
    assert torch.equal(tensor.cpu(), torch.ones(4))


def test_copy_between_devices_waits_for_the_source(other_device):
    source = torch.zeros(4, device=f"{DEVICE}:0")
    backend.sleep(150, device_module.current_stream(0))
    source.fill_(2)
    target = source.to(f"{DEVICE}:{other_device}")  # asynchronous, after the fill
    assert torch.equal(target.cpu(), torch.full((4,), 2.0))
