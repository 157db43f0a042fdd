"""Devices: how many, which one is current, and what an invalid index does."""

import re
import threading

import pytest
import torch


def out_of_range_message(index: int) -> str:
    count = torch.mtia.device_count()
    return re.escape(f"device index {index} is out of range: {count} mtia devices")


def test_device_count_matches_the_generated_answer(expected_device_count):
    assert torch.mtia.device_count() == expected_device_count
    assert torch.accelerator.device_count() == expected_device_count


def test_mtia_is_available_and_the_current_accelerator():
    assert torch.mtia.is_available()
    assert torch.accelerator.is_available()
    assert torch.accelerator.current_accelerator() == torch.device("mtia")


def test_current_device_starts_at_zero():
    assert torch.mtia.current_device() == 0
    assert torch.accelerator.current_device_index() == 0


def test_set_device_changes_the_current_device(other_device):
    torch.mtia.set_device(other_device)
    assert torch.mtia.current_device() == other_device
    assert torch.accelerator.current_device_index() == other_device


def test_accelerator_set_device_index_changes_the_current_device(other_device):
    torch.accelerator.set_device_index(other_device)
    assert torch.mtia.current_device() == other_device


def test_device_context_switches_and_restores(other_device):
    with torch.mtia.device(torch.device("mtia", other_device)):
        assert torch.mtia.current_device() == other_device
    assert torch.mtia.current_device() == 0
    with torch.mtia.device(torch.device("mtia:0")):
        assert torch.mtia.current_device() == 0


def test_accelerator_device_index_context_switches_and_restores(other_device):
    with torch.accelerator.device_index(other_device):
        assert torch.accelerator.current_device_index() == other_device
    assert torch.accelerator.current_device_index() == 0


def test_current_device_is_per_thread(other_device):
    seen_in_thread = []

    def use_other_device():
        seen_in_thread.append(torch.mtia.current_device())
        torch.mtia.set_device(other_device)
        seen_in_thread.append(torch.mtia.current_device())

    thread = threading.Thread(target=use_other_device)
    thread.start()
    thread.join()
    assert seen_in_thread == [0, other_device]
    assert torch.mtia.current_device() == 0


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda i: torch.Stream(device=f"mtia:{i}"), id="torch.Stream"),
        pytest.param(lambda i: torch.mtia.set_device(i), id="mtia.set_device"),
        pytest.param(lambda i: torch.mtia.current_stream(i), id="mtia.current_stream"),
        pytest.param(lambda i: torch.mtia.default_stream(i), id="mtia.default_stream"),
        pytest.param(lambda i: torch.mtia.synchronize(i), id="mtia.synchronize"),
        pytest.param(lambda i: torch.mtia.device(i).__enter__(), id="mtia.device"),
        pytest.param(
            lambda i: torch.accelerator.set_device_index(i), id="accelerator.set_device_index"
        ),
        pytest.param(
            lambda i: torch.accelerator.current_stream(i), id="accelerator.current_stream"
        ),
        pytest.param(lambda i: torch.accelerator.synchronize(i), id="accelerator.synchronize"),
        pytest.param(
            lambda i: torch.accelerator.device_index(i).__enter__(),
            id="accelerator.device_index",
        ),
        pytest.param(lambda i: torch.Generator(device=f"mtia:{i}"), id="torch.Generator"),
    ],
)
@pytest.mark.parametrize("offset", [0, 5], ids=["first-past-end", "far-past-end"])
def test_out_of_range_index_raises_and_names_index_and_count(call, offset, out_of_range_index):
    index = out_of_range_index + offset
    with pytest.raises(RuntimeError, match=out_of_range_message(index)):
        call(index)
    # Nothing changed: the thread is still on device 0 with its default stream.
    assert torch.mtia.current_device() == 0
    assert torch.mtia.current_stream(0).stream_id == 0
