"""What training code uses besides operators, and needs nothing of the backend
but to keep working: autocast, gradient scaling, saving and loading,
pinned-memory data loading."""

import io

import pytest
import torch
from torch import nn

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE


def test_autocast_runs_matmuls_in_bfloat16_on_the_device():
    layer = nn.Linear(8, 4).to(DEVICE)
    inputs = torch.randn(2, 8, device=DEVICE)
    with torch.autocast(device_type=DEVICE, dtype=torch.bfloat16):
        outputs = layer(inputs)
    assert outputs.dtype == torch.bfloat16 and outputs.device.type == DEVICE
    expected = layer.cpu()(inputs.cpu())
    torch.testing.assert_close(outputs.float().cpu(), expected, atol=0.05, rtol=0.05)


def test_grad_scaler_scales_and_unscales_the_gradients():
    torch.manual_seed(0)
    model = nn.Linear(4, 1).to(DEVICE)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler(DEVICE, init_scale=1024.0)
    before = model.weight.detach().cpu().clone()
    loss = model(torch.ones(3, 4, device=DEVICE)).sum()
    scaler.scale(loss).backward()
    assert model.weight.grad.abs().sum().item() > 1000  # still scaled
    scaler.step(optimizer)
    scaler.update()
    # The step used the unscaled gradient: 3 per weight (three rows of ones).
    torch.testing.assert_close(model.weight.detach().cpu(), before - 0.1 * 3)
    assert scaler.get_scale() == 1024.0


@pytest.mark.parametrize("map_location", [None, "cpu"])
def test_saved_device_tensors_load_where_asked(map_location):
    original = {"weights": torch.arange(6.0, device=DEVICE).reshape(2, 3)}
    buffer = io.BytesIO()
    torch.save(original, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, map_location=map_location)["weights"]
    assert loaded.device.type == (map_location or DEVICE)
    assert loaded.cpu().tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_host_tensors_load_onto_the_device_with_map_location():
    buffer = io.BytesIO()
    torch.save(torch.ones(3), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, map_location=f"{DEVICE}:0")
    assert loaded.device == torch.device(DEVICE, 0)
    assert loaded.cpu().tolist() == [1.0, 1.0, 1.0]


def test_the_backends_own_restore_puts_host_bytes_on_each_device():
    # torch from 2.10 restores the device itself, so torch.load above does not
    # reach this function there: call it on every release.
    from {{ cookiecutter.package_name }} import _serialization

    for index in range(torch.accelerator.device_count()):
        location = f"{DEVICE}:{index}"
        restored = _serialization._restore(torch.ones(3).untyped_storage(), location)
        assert restored.device == torch.device(location)
        loaded = torch.empty(0, device=location).set_(restored).view(torch.float32)
        assert loaded.cpu().tolist() == [1.0, 1.0, 1.0]
    assert _serialization._restore(torch.ones(3).untyped_storage(), "cpu") is None


def test_a_data_loader_pins_batches_for_asynchronous_copies():
    dataset = torch.utils.data.TensorDataset(torch.arange(8.0).reshape(4, 2))
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, pin_memory=True)
    batches = []
    for (batch,) in loader:
        assert batch.is_pinned()
        batches.append(batch.to(DEVICE, non_blocking=True))
    torch.accelerator.synchronize()
    assert torch.cat(batches).cpu().tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]


def test_the_device_has_one_location_in_torchs_serialization():
    from {{ cookiecutter.package_name }} import _serialization

    def ours():
        registry = torch.serialization._package_registry
        return [restore for _, _, restore in registry if restore is _serialization._restore]

    # Ours only where torch has none (before torch 2.10), and at most once.
    registered = ours()
    assert len(registered) == (0 if _serialization.torch_restores_the_device() else 1)
    _serialization.install()  # idempotent
    assert ours() == registered
