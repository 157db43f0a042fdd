"""``sleep``: queueing a busy period on a stream."""

import time

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def test_sleep_returns_at_once_and_keeps_the_stream_busy():
    stream = torch.Stream(device=f"{DEVICE}:0")
    started = time.perf_counter()
    backend.sleep(400, stream)
    assert time.perf_counter() - started < 0.2  # half the busy period: it did not wait
    assert not stream.query()
    stream.synchronize()
    assert time.perf_counter() - started >= 0.4
    assert stream.query()


def test_sleep_defaults_to_the_current_stream(other_device):
    stream = torch.Stream(device=f"{DEVICE}:{other_device}")
    with device_module.stream(stream):
        backend.sleep(300)
    assert not stream.query()
    assert device_module.default_stream(0).query()
    stream.synchronize()


def test_sleep_accepts_fractions_and_zero():
    stream = torch.Stream(device=f"{DEVICE}:0")
    backend.sleep(0.5, stream)
    backend.sleep(0, stream)
    stream.synchronize()
    assert stream.query()


@pytest.mark.parametrize(
    ("milliseconds", "error", "message"),
    [
        (-1, ValueError, "from 0 to 3600000 milliseconds, got -1"),
        (float("nan"), ValueError, "got nan"),
        (float("inf"), ValueError, "got inf"),
        (10**12, ValueError, "got 1000000000000"),
        ("5", TypeError, "int or float, got str"),
        (True, TypeError, "int or float, got bool"),
        (None, TypeError, "got NoneType"),
    ],
)
def test_bad_durations_are_refused(milliseconds, error, message):
    stream = torch.Stream(device=f"{DEVICE}:0")
    with pytest.raises(error, match=message):
        backend.sleep(milliseconds, stream)
    assert stream.query()


def test_stream_of_another_device_type_is_refused():
    with pytest.raises(ValueError, match=f"needs a stream of the {DEVICE} device, got one on cpu"):
        backend.sleep(10, torch.Stream(device="cpu"))


def test_something_that_is_not_a_stream_is_refused():
    with pytest.raises(TypeError, match="takes a torch.Stream, got str"):
        backend.sleep(10, f"{DEVICE}:0")
