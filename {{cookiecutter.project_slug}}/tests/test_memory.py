"""Device memory: statistics, capacity, out-of-memory errors, properties."""

import re

import pytest
import torch

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

MiB = 1024 * 1024
TORCH_RELEASE = _loader.torch_release(torch.__version__)


@pytest.fixture(autouse=True)
def initialised_and_settled():
    """torch.mtia's memory API reports nothing before lazy init."""
    torch.mtia.init()
    torch.accelerator.synchronize(0)
    yield
    torch.accelerator.synchronize(0)


@pytest.fixture
def restore_capacity():
    capacity = backend.memory_capacity(0)
    yield
    backend.set_memory_capacity(capacity, 0)


def test_memory_allocated_follows_tensors():
    before = torch.mtia.memory_allocated(0)
    tensor = torch.empty(MiB, dtype=torch.uint8, device="mtia:0")
    assert torch.mtia.memory_allocated(0) == before + MiB
    assert torch.accelerator.memory_allocated(0) == before + MiB
    del tensor
    assert torch.mtia.memory_allocated(0) == before
    assert torch.accelerator.memory_allocated(0) == before


def test_peak_is_kept_until_reset():
    torch.mtia.reset_peak_memory_stats(0)
    start = torch.mtia.memory_allocated(0)
    tensor = torch.empty(2 * MiB, dtype=torch.uint8, device="mtia:0")
    del tensor
    assert torch.mtia.max_memory_allocated(0) >= start + 2 * MiB
    assert torch.accelerator.max_memory_allocated(0) >= start + 2 * MiB
    torch.accelerator.reset_peak_memory_stats(0)
    assert torch.mtia.max_memory_allocated(0) == torch.mtia.memory_allocated(0)


def test_memory_stats_of_both_apis():
    tensor = torch.empty(MiB, dtype=torch.uint8, device="mtia:0")
    dram = torch.mtia.memory_stats(0)["dram"]
    assert dram["allocated_bytes"] >= MiB
    assert dram["free_bytes"] == dram["total_bytes"] - dram["allocated_bytes"]
    stats = torch.accelerator.memory_stats(0)
    assert stats["allocated_bytes.all.current"] == dram["allocated_bytes"]
    assert stats["allocation.all.current"] >= 1
    assert stats["num_ooms"] >= 0
    torch.accelerator.reset_accumulated_memory_stats(0)
    assert torch.accelerator.memory_stats(0)["allocated_bytes.all.allocated"] == 0
    del tensor


def test_memory_is_counted_per_device(other_device):
    before = torch.mtia.memory_allocated(0)
    tensor = torch.empty(MiB, dtype=torch.uint8, device=f"mtia:{other_device}")
    assert torch.mtia.memory_allocated(0) == before
    assert torch.mtia.memory_allocated(other_device) >= MiB
    del tensor


def test_empty_cache_keeps_live_tensors():
    tensor = torch.ones(4, device="mtia:0")
    torch.mtia.empty_cache()
    torch.accelerator.empty_cache()
    assert torch.equal(tensor.cpu(), torch.ones(4))


def test_memory_info_from_2_13_absent_before():
    if TORCH_RELEASE >= (2, 13):
        free, total = torch.accelerator.get_memory_info(0)
        assert total == backend.memory_capacity(0)
        assert free == total - torch.mtia.memory_allocated(0)
    else:
        with pytest.raises(AttributeError):
            torch.accelerator.get_memory_info(0)


def test_capacity_and_properties_come_from_the_answers(
    expected_device_memory_mib, expected_device_name
):
    assert backend.memory_capacity(0) == expected_device_memory_mib * MiB
    properties = torch.mtia.get_device_properties(0)
    assert properties["name"] == expected_device_name
    assert properties["total_memory"] == expected_device_memory_mib * MiB
    assert torch.mtia.get_device_capability(0) == (1, 0)


def test_out_of_memory_error_says_what_was_asked_and_what_is_free(restore_capacity):
    in_use = torch.mtia.memory_allocated(0)
    backend.set_memory_capacity(in_use + MiB, 0)
    assert torch.mtia.get_device_properties(0)["total_memory"] == in_use + MiB
    ooms_before = torch.mtia.memory_stats(0)["dram"]["num_ooms"]
    message = re.escape("mtia:0 is out of memory: tried to allocate 2.00 MiB; 1.00 MiB free of ")
    with pytest.raises(torch.OutOfMemoryError, match=message):
        torch.empty(2 * MiB, dtype=torch.uint8, device="mtia:0")
    assert torch.mtia.memory_allocated(0) == in_use  # nothing half-allocated
    assert torch.mtia.memory_stats(0)["dram"]["num_ooms"] == ooms_before + 1
    fits = torch.empty(MiB, dtype=torch.uint8, device="mtia:0")
    del fits


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((-1,), ValueError, "number of bytes >= 0, got -1"),
        ((True,), ValueError, "got True"),
        ((1024, "cpu"), ValueError, "expected a mtia device, got cpu"),
        ((1024, 1.5), TypeError, "expected a device index"),
        ((1024, 99), RuntimeError, "device index 99 is out of range"),
    ],
)
def test_bad_capacity_arguments_are_refused(arguments, error, message, restore_capacity):
    with pytest.raises(error, match=message):
        backend.set_memory_capacity(*arguments)


def test_memory_of_a_tensor_used_by_queued_work_is_freed_once_the_work_ran():
    stream = torch.Stream(device="mtia:0")
    before = torch.mtia.memory_allocated(0)
    tensor = torch.empty(MiB, dtype=torch.uint8, device="mtia:0")
    with torch.mtia.stream(stream):
        backend.sleep(200)
        tensor.fill_(1)  # queued behind the busy period, holding the tensor
    del tensor
    assert torch.mtia.memory_allocated(0) == before + MiB
    stream.synchronize()
    assert torch.mtia.memory_allocated(0) == before


def test_record_stream_keeps_memory_until_that_stream_is_done():
    other = torch.Stream(device="mtia:0")
    before = torch.mtia.memory_allocated(0)
    tensor = torch.empty(MiB, dtype=torch.uint8, device="mtia:0")
    backend.sleep(200, other)
    tensor.record_stream(other)
    del tensor
    assert torch.mtia.memory_allocated(0) == before + MiB
    other.synchronize()
    assert torch.mtia.memory_allocated(0) == before
