"""Device memory: statistics, capacity, out-of-memory errors, properties."""

import re

import pytest
import torch

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
MiB = 1024 * 1024
TORCH_RELEASE = _loader.torch_release(torch.__version__)


@pytest.fixture(autouse=True)
def initialised_and_settled():
    """The device module's memory API reports nothing before lazy init."""
    device_module.init()
    torch.accelerator.synchronize(0)
    yield
    torch.accelerator.synchronize(0)


@pytest.fixture
def restore_capacity():
    """For the emulator's tests that lower its memory capacity."""
    capacity = backend.memory_capacity(0)
    yield
    backend.set_memory_capacity(capacity, 0)


def test_memory_allocated_follows_tensors():
    before = device_module.memory_allocated(0)
    tensor = torch.empty(MiB, dtype=torch.uint8, device=f"{DEVICE}:0")
    assert device_module.memory_allocated(0) == before + MiB
    assert torch.accelerator.memory_allocated(0) == before + MiB
    del tensor
    assert device_module.memory_allocated(0) == before
    assert torch.accelerator.memory_allocated(0) == before


def test_peak_is_kept_until_reset():
    device_module.reset_peak_memory_stats(0)
    start = device_module.memory_allocated(0)
    tensor = torch.empty(2 * MiB, dtype=torch.uint8, device=f"{DEVICE}:0")
    del tensor
    assert device_module.max_memory_allocated(0) >= start + 2 * MiB
    assert torch.accelerator.max_memory_allocated(0) >= start + 2 * MiB
    torch.accelerator.reset_peak_memory_stats(0)
    assert device_module.max_memory_allocated(0) == device_module.memory_allocated(0)


def test_memory_stats_of_both_apis():
    tensor = torch.empty(MiB, dtype=torch.uint8, device=f"{DEVICE}:0")
    dram = device_module.memory_stats(0)["dram"]
    assert dram["allocated_bytes"] >= MiB
    assert dram["free_bytes"] == dram["total_bytes"] - dram["allocated_bytes"]
    stats = torch.accelerator.memory_stats(0)
    assert stats["allocated_bytes.all.current"] == dram["allocated_bytes"]
    assert stats["allocation.all.current"] >= 1
    assert stats["num_ooms"] == dram["num_ooms"]
    torch.accelerator.reset_accumulated_memory_stats(0)
    reset = torch.accelerator.memory_stats(0)
    assert reset["allocated_bytes.all.allocated"] == 0
    assert reset["num_ooms"] == 0
    assert device_module.memory_stats(0)["dram"]["num_ooms"] == 0
    del tensor


def test_allocation_larger_than_the_device_is_out_of_memory_and_counted():
    total = device_module.get_device_properties(0)["total_memory"]
    in_use = device_module.memory_allocated(0)
    ooms_before = torch.accelerator.memory_stats(0)["num_ooms"]
    with pytest.raises(torch.OutOfMemoryError):  # its message is the driver's
        torch.empty(total + 1, dtype=torch.uint8, device=f"{DEVICE}:0")
    assert device_module.memory_allocated(0) == in_use  # nothing half-allocated
    assert torch.accelerator.memory_stats(0)["num_ooms"] == ooms_before + 1
    assert device_module.memory_stats(0)["dram"]["num_ooms"] == ooms_before + 1


def test_memory_is_counted_per_device(other_device):
    before = device_module.memory_allocated(0)
    tensor = torch.empty(MiB, dtype=torch.uint8, device=f"{DEVICE}:{other_device}")
    assert device_module.memory_allocated(0) == before
    assert device_module.memory_allocated(other_device) >= MiB
    del tensor


def test_empty_cache_keeps_live_tensors():
    tensor = torch.ones(4, device=f"{DEVICE}:0")
    device_module.empty_cache()
    torch.accelerator.empty_cache()
    assert torch.equal(tensor.cpu(), torch.ones(4))


def test_memory_info_from_2_10_absent_before():
    if TORCH_RELEASE >= (2, 10):
        free, total = torch.accelerator.get_memory_info(0)
        assert total == device_module.get_device_properties(0)["total_memory"]
        assert free == total - device_module.memory_allocated(0)
    else:
        with pytest.raises(AttributeError):
            torch.accelerator.get_memory_info(0)


@pytest.mark.emulator  # a real device's properties come from the hardware
def test_capacity_and_properties_come_from_the_answers(
    expected_device_memory_mib, expected_device_name
):
    assert backend.memory_capacity(0) == expected_device_memory_mib * MiB
    properties = device_module.get_device_properties(0)
    assert properties["name"] == expected_device_name
    assert properties["total_memory"] == expected_device_memory_mib * MiB
    assert device_module.get_device_capability(0) == (1, 0)


@pytest.mark.emulator  # provoked by lowering the emulator's capacity
def test_out_of_memory_error_says_what_was_asked_and_what_is_free(restore_capacity):
    in_use = device_module.memory_allocated(0)
    backend.set_memory_capacity(in_use + MiB, 0)
    assert device_module.get_device_properties(0)["total_memory"] == in_use + MiB
    ooms_before = device_module.memory_stats(0)["dram"]["num_ooms"]
    message = re.escape(
        f"{DEVICE}:0 is out of memory: tried to allocate 2.00 MiB; 1.00 MiB free of "
    )
    with pytest.raises(torch.OutOfMemoryError, match=message):
        torch.empty(2 * MiB, dtype=torch.uint8, device=f"{DEVICE}:0")
    assert device_module.memory_allocated(0) == in_use  # nothing half-allocated
    assert device_module.memory_stats(0)["dram"]["num_ooms"] == ooms_before + 1
    fits = torch.empty(MiB, dtype=torch.uint8, device=f"{DEVICE}:0")
    del fits


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((-1,), ValueError, "number of bytes >= 0, got -1"),
        ((True,), ValueError, "got True"),
        ((1024, "cpu"), ValueError, f"expected a {DEVICE} device, got cpu"),
        ((1024, 1.5), TypeError, "expected a device index"),
        ((1024, 99), RuntimeError, "device index 99 is out of range"),
    ],
)
@pytest.mark.emulator
def test_bad_capacity_arguments_are_refused(arguments, error, message, restore_capacity):
    with pytest.raises(error, match=message):
        backend.set_memory_capacity(*arguments)


def device_free_bytes(device=0):
    """What the driver has left, which counts memory freed but still in use."""
    return device_module.memory_stats(device)["dram"]["free_bytes"]


def test_memory_of_a_tensor_used_by_queued_work_is_released_once_the_work_ran():
    stream = torch.Stream(device=f"{DEVICE}:0")
    before = device_module.memory_allocated(0)
    free_before = device_free_bytes()
    tensor = torch.empty(MiB, dtype=torch.uint8, device=f"{DEVICE}:0")
    with device_module.stream(stream):
        backend.sleep(200)
        tensor.fill_(1)  # queued behind the busy period, holding the tensor
    del tensor
    # As CUDA's allocator counts it: torch holds it no more, the device does.
    assert device_module.memory_allocated(0) == before
    assert device_free_bytes() == free_before - MiB
    stream.synchronize()
    assert device_free_bytes() == free_before


def test_record_stream_keeps_memory_until_that_stream_is_done():
    other = torch.Stream(device=f"{DEVICE}:0")
    free_before = device_free_bytes()
    tensor = torch.empty(MiB, dtype=torch.uint8, device=f"{DEVICE}:0")
    backend.sleep(200, other)
    tensor.record_stream(other)
    del tensor
    assert device_free_bytes() == free_before - MiB
    other.synchronize()
    assert device_free_bytes() == free_before
