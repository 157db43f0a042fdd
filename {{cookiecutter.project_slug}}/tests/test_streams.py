"""Streams: default and user streams, the current stream, and stream contexts."""

import threading

import pytest
import torch

MTIA = int(torch._C._autograd.DeviceType.MTIA)


def test_torch_stream_is_an_mtia_stream_on_the_current_device():
    stream = torch.Stream()
    assert stream.device_type == MTIA
    assert stream.device == torch.device("mtia:0")


def test_stream_on_an_explicit_device(other_device):
    stream = torch.Stream(device=f"mtia:{other_device}")
    assert stream.device == torch.device("mtia", other_device)


def test_device_module_current_stream_is_an_mtia_stream():
    stream = torch.get_device_module("mtia:0").current_stream()
    assert stream.device_type == MTIA


def test_default_stream_has_id_zero_and_user_streams_do_not():
    default_stream = torch.mtia.current_stream(0)
    user_stream = torch.mtia.Stream(device="mtia:0")
    assert default_stream == torch.mtia.default_stream(0)
    assert default_stream.stream_id == 0
    assert user_stream.stream_id != 0
    assert user_stream != default_stream
    assert torch.mtia.current_stream(0) == default_stream


def test_new_streams_get_distinct_ids():
    ids = {torch.Stream(device="mtia:0").stream_id for _ in range(100)}
    assert len(ids) == 100


def test_stream_context_switches_and_restores_the_stream():
    first = torch.mtia.Stream(device="mtia:0")
    second = torch.mtia.Stream(device="mtia:0")
    with torch.mtia.stream(first):
        assert torch.mtia.current_stream() == first
        with torch.mtia.stream(second):
            assert torch.mtia.current_stream() == second
        assert torch.mtia.current_stream() == first
    assert torch.mtia.current_stream().stream_id == 0


def test_stream_context_on_another_device_switches_device_and_restores(other_device):
    stream = torch.mtia.Stream(device=torch.device("mtia", other_device))
    with torch.mtia.stream(stream):
        assert torch.mtia.current_device() == other_device
        assert torch.mtia.current_stream() == stream
    assert torch.mtia.current_device() == 0
    assert torch.mtia.current_stream(other_device).stream_id == 0


def test_torch_stream_as_context_manager_switches_and_restores(other_device):
    stream = torch.Stream(device=f"mtia:{other_device}")
    with stream:
        assert torch.accelerator.current_device_index() == other_device
        assert torch.accelerator.current_stream() == stream
    assert torch.accelerator.current_device_index() == 0
    assert torch.accelerator.current_stream(other_device).stream_id == 0


def test_set_stream_makes_it_current_on_its_device():
    stream = torch.Stream(device="mtia:0")
    torch.mtia.set_stream(stream)
    assert torch.mtia.current_stream(0) == stream


def test_accelerator_set_stream_switches_device_and_stream(other_device):
    stream = torch.Stream(device=f"mtia:{other_device}")
    torch.accelerator.set_stream(stream)
    assert torch.accelerator.current_device_index() == other_device
    assert torch.accelerator.current_stream() == stream
    assert torch.accelerator.current_stream(0).stream_id == 0


def test_current_stream_is_per_device(other_device):
    stream = torch.Stream(device="mtia:0")
    torch.mtia.set_stream(stream)
    assert torch.mtia.current_stream(0) == stream
    assert torch.mtia.current_stream(other_device).stream_id == 0


def test_current_stream_is_per_thread():
    stream = torch.Stream(device="mtia:0")
    torch.mtia.set_stream(stream)
    seen_in_thread = []
    thread = threading.Thread(target=lambda: seen_in_thread.append(torch.mtia.current_stream(0)))
    thread.start()
    thread.join()
    assert seen_in_thread[0].stream_id == 0
    assert torch.mtia.current_stream(0) == stream


def test_idle_stream_is_complete_and_synchronizes():
    stream = torch.Stream(device="mtia:0")
    assert stream.query()
    stream.synchronize()
    torch.mtia.default_stream(0).synchronize()
    assert torch.mtia.default_stream(0).query()


def test_wait_stream_and_wait_event_are_accepted_across_streams(other_device):
    producer = torch.Stream(device="mtia:0")
    consumer = torch.Stream(device="mtia:0")
    consumer.wait_stream(producer)
    consumer.wait_event(producer.record_event())
    other = torch.Stream(device=f"mtia:{other_device}")
    other.wait_stream(producer)
    assert consumer.query() and other.query()


def test_device_synchronize():
    torch.mtia.synchronize("mtia:0")
    torch.accelerator.synchronize(0)
    torch.accelerator.synchronize()


def test_stream_repr_names_device_and_id():
    stream = torch.Stream(device="mtia:0")
    assert f"stream_id={stream.stream_id}" in repr(stream)
    assert "device_type=mtia" in repr(stream)


def test_unknown_stream_id_is_refused():
    never_created = torch.Stream(device="mtia:0").stream_id + 1000
    with pytest.raises(RuntimeError, match=f"unknown stream {never_created}"):
        torch.mtia._set_stream_by_id(never_created, 0, MTIA)
    assert torch.mtia.current_stream(0).stream_id == 0
