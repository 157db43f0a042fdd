"""torch.accelerator, the device-generic API, driven by this backend."""

import torch


def test_current_accelerator_is_mtia():
    assert torch.accelerator.current_accelerator().type == "mtia"
    assert torch.accelerator.current_accelerator(check_available=True).type == "mtia"


def test_current_stream_defaults_to_the_current_device(other_device):
    torch.accelerator.set_device_index(other_device)
    stream = torch.accelerator.current_stream()
    assert stream.device == torch.device("mtia", other_device)
    assert stream.stream_id == 0


def test_set_stream_then_current_stream_round_trips():
    stream = torch.Stream(device="mtia:0")
    torch.accelerator.set_stream(stream)
    assert torch.accelerator.current_stream(0) == stream
    assert torch.mtia.current_stream(0) == stream


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


def test_synchronize_every_device():
    for index in range(torch.accelerator.device_count()):
        torch.accelerator.synchronize(index)
        torch.accelerator.synchronize(torch.device("mtia", index))


def test_generic_code_finds_the_device_module():
    accelerator = torch.accelerator.current_accelerator()
    module = torch.get_device_module(accelerator)
    assert module is torch.mtia
    assert module.device_count() == torch.accelerator.device_count()
