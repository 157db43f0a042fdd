"""The package's own functions refuse bad arguments with clear Python errors.

Not pybind11's "incompatible function arguments" listing, nor an
OverflowError from deep inside: a ValueError, TypeError or RuntimeError that
names the argument and what was allowed. And an error raised by queued work
comes back from the next synchronize as one line, without a C++ backtrace.
"""

import re
import time

import numpy as np
import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
# The memory capacity is the emulator's own setting.
capacity_test = pytest.mark.emulator


@pytest.fixture
def restore_capacity():
    capacities = [backend.memory_capacity(i) for i in range(device_module.device_count())]
    yield
    for index, capacity in enumerate(capacities):
        backend.set_memory_capacity(capacity, index)


def out_of_range(index: int) -> str:
    count = device_module.device_count()
    return re.escape(
        f"device index {index} is out of range: {count} {DEVICE} devices "
        f"(valid indices 0 to {count - 1})"
    )


class Index:
    """Not an int, but usable as one (operator.index), like a NumPy integer."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


@capacity_test
def test_a_capacity_above_64_bits_is_refused_naming_the_limit(restore_capacity):
    with pytest.raises(ValueError, match=r"at most 18446744073709551615 bytes \(2\*\*64 - 1\)"):
        backend.set_memory_capacity(2**64)
    backend.set_memory_capacity(2**64 - 1)  # the largest is accepted
    assert backend.memory_capacity() == 2**64 - 1


@capacity_test
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda i: backend.memory_capacity(i), id="memory_capacity"),
        pytest.param(lambda i: backend.set_memory_capacity(1, device=i), id="set_memory_capacity"),
    ],
)
@pytest.mark.parametrize("index", [2**31, 2**40, 2**70, -5])
def test_a_device_index_out_of_any_range_is_named_with_the_count(call, index, restore_capacity):
    with pytest.raises(RuntimeError, match=out_of_range(index)):
        call(index)


@capacity_test
@pytest.mark.parametrize(
    "value", [np.int64(5), np.uint32(5), Index(5)], ids=["int64", "uint32", "__index__"]
)
def test_a_capacity_can_be_any_integer_type(value, restore_capacity):
    backend.set_memory_capacity(value)
    assert backend.memory_capacity() == 5
    assert type(backend.memory_capacity()) is int


@capacity_test
def test_a_device_can_be_any_integer_type(restore_capacity):
    backend.set_memory_capacity(7, np.int64(0))
    assert backend.memory_capacity(Index(0)) == 7


@capacity_test
@pytest.mark.parametrize("value", [1.5, "5", None, np.float64(5.0)])
def test_a_capacity_that_is_not_an_integer_is_a_type_error(value, restore_capacity):
    with pytest.raises(TypeError, match="takes a number of bytes as an int"):
        backend.set_memory_capacity(value)


def test_a_duration_too_large_for_a_float_is_a_value_error():
    stream = torch.Stream(device=f"{DEVICE}:0")
    with pytest.raises(ValueError, match="takes from 0 to 3600000 milliseconds"):
        backend.sleep(2**1024, stream)
    assert stream.query()


def test_a_duration_can_be_a_numpy_number():
    stream = torch.Stream(device=f"{DEVICE}:0")
    started = time.monotonic()
    backend.sleep(np.int64(200), stream)
    backend.sleep(np.float32(0.5), stream)
    stream.synchronize()
    assert time.monotonic() - started >= 0.2


def test_sleep_on_a_stream_of_device_index_minus_1_uses_the_current_device():
    current = device_module.device_count() - 1
    device_module.set_device(current)
    device_type = torch.Stream(device=f"{DEVICE}:0").device_type
    stream = torch.Stream(stream_id=0, device_index=-1, device_type=device_type)
    backend.sleep(1000, stream)  # long enough to be seen pending on a loaded machine
    assert not device_module.default_stream(current).query()
    for other in range(current):
        assert device_module.default_stream(other).query()
    device_module.synchronize(current)


@pytest.mark.emulator  # queue_fault is the emulator's stand-in for a failing kernel
def test_an_error_raised_by_queued_work_is_reported_once_in_one_line():
    values = torch.zeros(2, dtype=torch.int32, device=f"{DEVICE}:0")
    # A failing kernel's error as torch's carry it: a message, then a backtrace.
    error = "device-side assert: index 7 out of bounds\nException raised from kernel at k.cpp:1"
    backend.load().queue_fault(0, 0, error)
    with pytest.raises(RuntimeError) as raised:
        device_module.synchronize()
    message = str(raised.value)
    assert message.startswith(f"asynchronous error in work on stream 0 on {DEVICE}:0: ")
    assert "device-side assert: index 7 out of bounds" in message
    assert "\n" not in message  # no C++ backtrace
    assert "Exception raised from" not in message
    device_module.synchronize()  # reported once
    values.fill_(3)
    assert values.cpu().tolist() == [3, 3]  # the device still works
