"""torch.accelerator, the device-generic API, driven by this backend."""

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def test_current_accelerator_is_this_device():
    assert torch.accelerator.current_accelerator().type == DEVICE
    assert torch.accelerator.current_accelerator(check_available=True).type == DEVICE


def test_current_stream_defaults_to_the_current_device(other_device):
    torch.accelerator.set_device_index(other_device)
    stream = torch.accelerator.current_stream()
    assert stream.device == torch.device(DEVICE, other_device)
    assert stream.stream_id == 0


def test_set_stream_then_current_stream_round_trips():
    stream = torch.Stream(device=f"{DEVICE}:0")
    torch.accelerator.set_stream(stream)
    assert torch.accelerator.current_stream(0) == stream
    assert device_module.current_stream(0) == stream


def test_device_index_context_restores_after_an_error(other_device):
    try:
        with torch.accelerator.device_index(other_device):
            raise KeyError("boom")
    except KeyError:
        pass
    assert torch.accelerator.current_device_index() == 0


def test_negative_device_index_is_a_no_op():
    torch.accelerator.set_device_index(-1)
    assert torch.accelerator.current_device_index() == 0
    with torch.accelerator.device_index(None):
        assert torch.accelerator.current_device_index() == 0


@pytest.mark.parametrize(
    "argument",
    [lambda index: index, lambda index: torch.device(DEVICE, index)],
    ids=["index", "torch.device"],
)
def test_synchronize_every_device(argument):
    # Work queued on a non-default stream: reading its result on the default
    # stream does not wait for it, so only the synchronize makes it visible.
    for index in range(torch.accelerator.device_count()):
        stream = torch.Stream(device=f"{DEVICE}:{index}")
        result = torch.zeros(4, device=f"{DEVICE}:{index}")
        with stream:
            backend.sleep(200)
            result.fill_(index + 1)
        assert not stream.query()
        torch.accelerator.synchronize(argument(index))
        assert stream.query()
        assert torch.equal(result.cpu(), torch.full((4,), index + 1.0))


def test_generic_code_finds_the_device_module():
    accelerator = torch.accelerator.current_accelerator()
    module = torch.get_device_module(accelerator)
    assert module is device_module
    assert module.__name__ == f"torch.{DEVICE}"
    assert module.device_count() == torch.accelerator.device_count()
