"""Tensors on the device: creation, copies, views, the CPU fallback, errors."""

import re

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def test_tensor_is_created_on_the_requested_device(other_device):
    assert torch.empty(3, device=DEVICE).device == torch.device(DEVICE, 0)
    on_other = torch.zeros(3, device=f"{DEVICE}:{other_device}")
    assert on_other.device == torch.device(DEVICE, other_device)
    with device_module.device(other_device):
        assert torch.ones(2, device=DEVICE).device == torch.device(DEVICE, other_device)


def test_storage_and_pointer_carry_the_device_index(other_device):
    tensor = torch.arange(4.0, device=f"{DEVICE}:{other_device}")
    assert tensor.untyped_storage().device == torch.device(DEVICE, other_device)
    runtime = backend.load()
    assert runtime.device_from_pointer(tensor.data_ptr()) == other_device
    assert runtime.device_from_pointer(tensor[2:].data_ptr()) == other_device  # inside a block
    with pytest.raises(RuntimeError, match=f"is not in {DEVICE} device memory"):
        runtime.device_from_pointer(torch.ones(4).data_ptr())


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
def test_every_supported_dtype_allocates_and_converts(supported_dtypes):
    for dtype in supported_dtypes:
        host = torch.arange(3).to(dtype)
        on_device = host.to(f"{DEVICE}:0")
        assert on_device.dtype == dtype
        # Compared as bytes: not every dtype has a CPU equality kernel.
        assert torch.equal(on_device.cpu().view(torch.uint8), host.view(torch.uint8)), dtype
        converted = torch.arange(3.0, device=f"{DEVICE}:0").to(dtype).cpu()
        assert torch.equal(converted.view(torch.uint8), host.view(torch.uint8)), dtype


@pytest.mark.parametrize("dtype", [torch.bits8, torch.uint4, torch.int2])
def test_unsupported_dtype_is_refused_when_used(dtype):
    message = f"does not support dtype .* on the {DEVICE} device"
    with pytest.raises(NotImplementedError, match=message):
        torch.zeros(2, dtype=dtype, device=f"{DEVICE}:0")


def test_host_device_round_trip_keeps_values():
    host = torch.randn(4, 5, dtype=torch.float64)
    assert torch.equal(host.to(f"{DEVICE}:0").cpu(), host)
    assert torch.equal(host.to(f"{DEVICE}:0").to(torch.float32).cpu(), host.to(torch.float32))


def test_copies_from_host_layouts_the_device_does_not_share_keep_their_values():
    # Broadcast and transposed host tensors are converted on the host first;
    # the stream is kept busy so that the copy runs after the call returned.
    sources = [
        torch.tensor(1.5).expand(3),
        torch.tensor([1.0, 2.0]).expand(2, 2),
        torch.arange(6.0).reshape(2, 3).t(),
    ]
    for source in sources:
        backend.sleep(20)
        copied = source.to(DEVICE)
        assert torch.equal(copied.cpu(), source), source


def test_copy_between_devices(other_device):
    source = torch.arange(10.0, device=f"{DEVICE}:0")
    moved = source.to(f"{DEVICE}:{other_device}")
    assert moved.device == torch.device(DEVICE, other_device)
    assert torch.equal(moved.cpu(), torch.arange(10.0))
    target = torch.zeros(10, device=f"{DEVICE}:{other_device}")
    target.copy_(source)
    assert torch.equal(target.cpu(), torch.arange(10.0))


def test_operators_without_a_device_kernel_run_through_the_cpu():
    y = torch.arange(6.0, device=f"{DEVICE}:0").view(2, 3)
    assert torch.equal((y + 1).cpu(), torch.arange(6.0).view(2, 3) + 1)
    assert (y @ y.t()).device == torch.device(DEVICE, 0)
    assert torch.equal((y @ y.t()).cpu(), torch.tensor([[5.0, 14.0], [14.0, 50.0]]))
    assert y.sum().item() == 15.0
    assert torch.equal(y[y > 2].cpu(), torch.tensor([3.0, 4.0, 5.0]))


def test_views_share_memory_with_their_base():
    base = torch.zeros(2, 3, device=f"{DEVICE}:0")
    base.t()[1].fill_(7)  # column 1 of base
    base[1].fill_(1)
    base.view(6)[0].fill_(5)
    torch.view_as_real(torch.zeros(1, dtype=torch.complex64, device=f"{DEVICE}:0"))
    expected = torch.tensor([[5.0, 7.0, 0.0], [1.0, 1.0, 1.0]])
    assert torch.equal(base.cpu(), expected)
    assert torch.equal(base.as_strided((2,), (3,)).cpu(), torch.tensor([5.0, 1.0]))
    assert torch.equal(
        torch.arange(4.0, device=f"{DEVICE}:0").unfold(0, 2, 2).cpu(),
        torch.tensor([[0.0, 1.0], [2.0, 3.0]]),
    )
    assert base.view(torch.int32).shape == (2, 3)


def test_resize_and_set():
    tensor = torch.arange(3.0, device=f"{DEVICE}:0")
    tensor.resize_(5)
    assert tensor.shape == (5,)
    assert torch.equal(tensor[:3].cpu(), torch.arange(3.0))  # the old values moved along
    other = torch.empty(0, device=f"{DEVICE}:0").set_(tensor.untyped_storage(), 1, (2,), (1,))
    assert torch.equal(other.cpu(), torch.tensor([1.0, 2.0]))


def test_autograd_on_device():
    leaf = torch.ones(3, device=f"{DEVICE}:0", requires_grad=True)
    (leaf * leaf * 3).sum().backward()
    assert leaf.grad.device == torch.device(DEVICE, 0)
    assert torch.equal(leaf.grad.cpu(), torch.full((3,), 6.0))


def test_printing_a_device_tensor_names_its_device():
    assert f"device='{DEVICE}:0'" in repr(torch.ones(2, device=f"{DEVICE}:0"))


def test_pinned_host_memory():
    pinned = torch.ones(8).pin_memory()
    assert pinned.is_pinned()
    assert pinned[4:].is_pinned()
    assert not torch.ones(8).is_pinned()
    on_device = pinned.to(f"{DEVICE}:0", non_blocking=True)
    device_module.synchronize(0)
    assert torch.equal(on_device.cpu(), torch.ones(8))


def test_tensor_on_an_out_of_range_device_names_index_and_count(out_of_range_index):
    count = device_module.device_count()
    message = re.escape(
        f"device index {out_of_range_index} is out of range: {count} {DEVICE} devices"
    )
    with pytest.raises(RuntimeError, match=message):
        torch.empty(2, device=f"{DEVICE}:{out_of_range_index}")
    with pytest.raises(RuntimeError, match=message):
        torch.ones(2).to(f"{DEVICE}:{out_of_range_index}")


def test_non_strided_and_pinned_device_tensors_are_refused():
    with pytest.raises(RuntimeError, match="pin_memory=True is for host tensors"):
        torch.empty(2, device=f"{DEVICE}:0", pin_memory=True)
    with pytest.raises(NotImplementedError):
        torch.empty(2, device=f"{DEVICE}:0", layout=torch.sparse_coo)


def test_operator_with_no_kernel_anywhere_is_not_implemented_and_named():
    image = torch.ones(1, 1, 3, 3, device=f"{DEVICE}:0")
    with pytest.raises(NotImplementedError, match="aten::_conv_depthwise2d"):
        torch.ops.aten._conv_depthwise2d(image, image, [3, 3], None, [1, 1], [0, 0], [1, 1])


def test_view_operator_with_only_a_cpu_kernel_views_device_memory():
    library = torch.library.Library("fakedevice_test", "DEF")
    library.define("my_view(Tensor(a) x) -> Tensor(a)")
    library.impl("my_view", lambda x: x[1:], "CPU")
    base = torch.zeros(3, device=f"{DEVICE}:0")
    view = torch.ops.fakedevice_test.my_view(base)
    assert view.device == base.device
    view.fill_(5)
    assert base.cpu().tolist() == [0, 5, 5]
