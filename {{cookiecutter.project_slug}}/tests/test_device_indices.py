"""Device indices from 128 to 255 are refused, named as the user wrote them.

torch keeps a device index in 8 bits, so "mtia:200" reaches the backend as
-56, and only -1 means "the current device". The backend must refuse such
an index, naming 200, and never take it for the current device (device 0).
torch itself refuses a few of these calls before the backend sees them
(pybind11 cannot fit 200 in the 8-bit argument): those raise a TypeError
naming the index. "mtia:255" and "mtia:256" cannot be told apart from
"mtia" and "mtia:0" once torch has parsed them, so they are not tested.
"""

import re

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def out_of_range(index: int) -> str:
    """The refusal's pattern; an index torch wrapped is also shown as it arrived."""
    count = device_module.device_count()
    wrapped = re.escape(f" (or {index - 256}: torch keeps device indices in 8 bits)")
    return (
        re.escape(f"device index {index}")
        + f"({wrapped})?"
        + re.escape(f" is out of range: {count} {DEVICE} devices")
    )


@pytest.fixture(autouse=True)
def stays_on_device_0():
    """Whatever a refused call did, the thread is still on device 0 and its default stream."""
    assert device_module.current_device() == 0
    yield
    assert device_module.current_device() == 0
    assert device_module.current_stream(0).stream_id == 0


@pytest.mark.parametrize(
    ("call", "index"),
    [
        pytest.param(lambda: torch.ones(2, device=f"{DEVICE}:200"), 200, id="torch.ones"),
        pytest.param(lambda: torch.empty(2, device=f"{DEVICE}:128"), 128, id="torch.empty-128"),
        pytest.param(lambda: torch.empty(2, device=f"{DEVICE}:254"), 254, id="torch.empty-254"),
        pytest.param(lambda: torch.ones(2, device=torch.device(DEVICE, 200)), 200, id="device"),
        pytest.param(lambda: torch.ones(2).to(f"{DEVICE}:200"), 200, id="tensor.to"),
        pytest.param(lambda: torch.Stream(device=f"{DEVICE}:130"), 130, id="torch.Stream"),
        pytest.param(lambda: torch.Generator(device=f"{DEVICE}:200"), 200, id="torch.Generator"),
        pytest.param(
            lambda: backend.memory_capacity(f"{DEVICE}:200"),
            200,
            id="memory_capacity",
            marks=pytest.mark.emulator,
        ),
        pytest.param(
            lambda: backend.set_memory_capacity(1, torch.device(f"{DEVICE}:200")),
            200,
            id="set_memory_capacity",
            marks=pytest.mark.emulator,
        ),
    ],
)
def test_an_index_above_127_is_refused_and_named(call, index):
    with pytest.raises(RuntimeError, match=out_of_range(index)):
        call()


def test_a_negative_index_is_named_as_written_too():
    # torch keeps -2 and 254 alike; the refusal names both readings.
    with pytest.raises(RuntimeError, match=re.escape("device index 254 (or -2: torch keeps")):
        device_module.current_stream(-2)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: device_module.set_device(200), id="set_device"),
        pytest.param(lambda: device_module.device(200).__enter__(), id="device"),
        pytest.param(lambda: device_module.synchronize(200), id="synchronize"),
        pytest.param(lambda: device_module.current_stream(200), id="current_stream"),
        pytest.param(
            lambda: torch.accelerator.set_device_index(200), id="accelerator.set_device_index"
        ),
    ],
)
def test_torch_refuses_an_index_above_127_before_the_backend(call):
    # torch's own bindings take an 8-bit index; a future torch that passes it
    # on gets the backend's RuntimeError.
    with pytest.raises((TypeError, RuntimeError), match=r"\b200\b"):
        call()
