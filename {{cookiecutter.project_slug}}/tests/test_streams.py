"""Streams: default and user streams, the current stream, and stream contexts."""

import threading

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
# What torch.Stream.device_type holds for this device type (c10::DeviceType).
DEVICE_TYPE_NUMBER = int(getattr(torch._C._autograd.DeviceType, DEVICE.upper()))


def test_torch_stream_is_a_stream_of_the_current_device():
    stream = torch.Stream()
    assert stream.device_type == DEVICE_TYPE_NUMBER
    assert stream.device == torch.device(DEVICE, 0)


def test_stream_on_an_explicit_device(other_device):
    stream = torch.Stream(device=f"{DEVICE}:{other_device}")
    assert stream.device == torch.device(DEVICE, other_device)


def test_device_module_current_stream_is_a_stream_of_this_device_type():
    stream = torch.get_device_module(f"{DEVICE}:0").current_stream()
    assert stream.device_type == DEVICE_TYPE_NUMBER


def test_default_stream_has_id_zero_and_user_streams_do_not():
    default_stream = device_module.current_stream(0)
    user_stream = device_module.Stream(device=f"{DEVICE}:0")
    assert default_stream == device_module.default_stream(0)
    assert default_stream.stream_id == 0
    assert user_stream.stream_id != 0
    assert user_stream != default_stream
    assert device_module.current_stream(0) == default_stream


def test_new_streams_get_distinct_ids():
    ids = {torch.Stream(device=f"{DEVICE}:0").stream_id for _ in range(100)}
    assert len(ids) == 100


def test_stream_context_switches_and_restores_the_stream():
    first = device_module.Stream(device=f"{DEVICE}:0")
    second = device_module.Stream(device=f"{DEVICE}:0")
    with device_module.stream(first):
        assert device_module.current_stream() == first
        with device_module.stream(second):
            assert device_module.current_stream() == second
        assert device_module.current_stream() == first
    assert device_module.current_stream().stream_id == 0


def test_stream_context_on_another_device_switches_device_and_restores(other_device):
    stream = device_module.Stream(device=torch.device(DEVICE, other_device))
    with device_module.stream(stream):
        assert device_module.current_device() == other_device
        assert device_module.current_stream() == stream
    assert device_module.current_device() == 0
    assert device_module.current_stream(other_device).stream_id == 0


def test_torch_stream_as_context_manager_switches_and_restores(other_device):
    stream = torch.Stream(device=f"{DEVICE}:{other_device}")
    with stream:
        assert torch.accelerator.current_device_index() == other_device
        assert torch.accelerator.current_stream() == stream
    assert torch.accelerator.current_device_index() == 0
    assert torch.accelerator.current_stream(other_device).stream_id == 0


def test_set_stream_makes_it_current_on_its_device():
    stream = torch.Stream(device=f"{DEVICE}:0")
    device_module.set_stream(stream)
    assert device_module.current_stream(0) == stream


def test_accelerator_set_stream_switches_device_and_stream(other_device):
    stream = torch.Stream(device=f"{DEVICE}:{other_device}")
    torch.accelerator.set_stream(stream)
    assert torch.accelerator.current_device_index() == other_device
    assert torch.accelerator.current_stream() == stream
    assert torch.accelerator.current_stream(0).stream_id == 0


def test_current_stream_is_per_device(other_device):
    stream = torch.Stream(device=f"{DEVICE}:0")
    device_module.set_stream(stream)
    assert device_module.current_stream(0) == stream
    assert device_module.current_stream(other_device).stream_id == 0


def test_current_stream_is_per_thread():
    stream = torch.Stream(device=f"{DEVICE}:0")
    device_module.set_stream(stream)
    seen_in_thread = []
    thread = threading.Thread(target=lambda: seen_in_thread.append(device_module.current_stream(0)))
    thread.start()
    thread.join()
    assert seen_in_thread[0].stream_id == 0
    assert device_module.current_stream(0) == stream


def test_idle_stream_is_complete_and_synchronizes():
    stream = torch.Stream(device=f"{DEVICE}:0")
    assert stream.query()
    stream.synchronize()
    device_module.default_stream(0).synchronize()
    assert device_module.default_stream(0).query()


WAITS = {
    "wait_stream": lambda producer, consumer: consumer.wait_stream(producer),
    "wait_event": lambda producer, consumer: consumer.wait_event(producer.record_event()),
}


@pytest.mark.parametrize("wait", list(WAITS.values()), ids=list(WAITS))
@pytest.mark.parametrize("same_device", [True, False], ids=["same-device", "other-device"])
def test_waits_across_streams_and_devices_hold_back_later_work(wait, same_device, request):
    consumer_device = 0 if same_device else request.getfixturevalue("other_device")
    producer = torch.Stream(device=f"{DEVICE}:0")
    consumer = torch.Stream(device=f"{DEVICE}:{consumer_device}")
    result = torch.zeros(4, device=f"{DEVICE}:{consumer_device}")
    backend.sleep(300, producer)
    wait(producer, consumer)
    with consumer:
        result.fill_(1)  # queued after the wait
    done = consumer.record_event()
    # The consumer had nothing to do but wait: it is held back by the busy producer.
    assert not consumer.query()
    assert not done.query()
    done.synchronize()
    # Ordering, not timing: the consumer finished only once the producer had.
    assert producer.query()
    assert torch.equal(result.cpu(), torch.ones(4))


@pytest.mark.parametrize(
    "synchronize",
    [
        pytest.param(lambda: device_module.synchronize(f"{DEVICE}:0"), id=f"{DEVICE}.synchronize"),
        pytest.param(lambda: device_module.synchronize(), id=f"{DEVICE}.synchronize()"),
        pytest.param(lambda: torch.accelerator.synchronize(0), id="accelerator.synchronize"),
        pytest.param(lambda: torch.accelerator.synchronize(), id="accelerator.synchronize()"),
    ],
)
def test_device_synchronize_returns_once_queued_work_has_finished(synchronize):
    # Work on two non-default streams of the current device: reading the
    # results on the default stream does not wait for them, synchronize does.
    streams = [torch.Stream(device=f"{DEVICE}:0") for _ in range(2)]
    results = [torch.zeros(4, device=f"{DEVICE}:0") for _ in streams]
    for value, (stream, result) in enumerate(zip(streams, results, strict=True), start=1):
        with stream:
            backend.sleep(200)
            result.fill_(value)
    assert not any(stream.query() for stream in streams)
    synchronize()
    assert all(stream.query() for stream in streams)
    assert [result.cpu().tolist() for result in results] == [[1.0] * 4, [2.0] * 4]


def test_stream_repr_names_device_and_id():
    stream = torch.Stream(device=f"{DEVICE}:0")
    assert f"stream_id={stream.stream_id}" in repr(stream)
    assert f"device_type={DEVICE}" in repr(stream)


def test_unknown_stream_id_is_refused():
    never_created = torch.Stream(device=f"{DEVICE}:0").stream_id + 1000
    with pytest.raises(RuntimeError, match=f"unknown stream {never_created}"):
        device_module._set_stream_by_id(never_created, 0, DEVICE_TYPE_NUMBER)
    assert device_module.current_stream(0).stream_id == 0
