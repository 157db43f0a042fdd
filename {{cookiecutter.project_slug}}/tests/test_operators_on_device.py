"""Operators on the device give the CPU's answers, and refuse what hardware refuses.

Every operator without a device kernel runs the CPU's kernel on the device's
memory in place (csrc/backend/fallback.cpp); convolutions and attention,
which torch routes to entry points of their own, have kernels that do the
same (convolution.cpp, attention.cpp). The OpInfo conformance suite covers
every operator; these tests pin the cases that once failed.
"""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE


def on_device(*tensors):
    return [t.to(DEVICE) for t in tensors]


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_convolution_forward_and_backward_match_the_cpu(dims, transposed):
    torch.manual_seed(0)
    layer_type = {
        (1, False): nn.Conv1d,
        (2, False): nn.Conv2d,
        (3, False): nn.Conv3d,
        (1, True): nn.ConvTranspose1d,
        (2, True): nn.ConvTranspose2d,
        (3, True): nn.ConvTranspose3d,
    }[(dims, transposed)]
    layer = layer_type(4, 6, 3, stride=2, padding=1, groups=2)
    inputs = torch.randn(2, 4, *([7] * dims), requires_grad=True)
    device_layer = layer_type(4, 6, 3, stride=2, padding=1, groups=2).to(DEVICE)
    device_layer.load_state_dict(layer.state_dict())
    device_inputs = inputs.detach().to(DEVICE).requires_grad_()

    expected = layer(inputs)
    got = device_layer(device_inputs)
    expected.square().sum().backward()
    got.square().sum().backward()

    torch.testing.assert_close(got.cpu(), expected)
    torch.testing.assert_close(device_inputs.grad.cpu(), inputs.grad)
    torch.testing.assert_close(device_layer.weight.grad.cpu(), layer.weight.grad)
    torch.testing.assert_close(device_layer.bias.grad.cpu(), layer.bias.grad)


def test_a_convolution_with_its_bias_elsewhere_is_refused_as_on_cuda():
    image, weight, bias = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3), torch.randn(3)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        F.conv2d(image.to(DEVICE), weight.to(DEVICE), bias)  # the bias stayed on the host


@pytest.mark.parametrize(
    "transform",
    [
        torch.fft.fft,
        torch.fft.ifft,
        torch.fft.hfft,
        torch.fft.ihfft,
        torch.fft.rfft,
        torch.fft.irfft,
    ],
)
def test_fft_family_matches_the_cpu(transform):
    signal = torch.randn(3, 8)
    torch.testing.assert_close(transform(signal.to(DEVICE)).cpu(), transform(signal))


def test_multidimensional_hermitian_ffts_match_the_cpu():
    signal = torch.randn(4, 6)
    for transform in (torch.fft.hfft2, torch.fft.hfftn, torch.fft.ihfft2, torch.fft.ihfftn):
        torch.testing.assert_close(transform(signal.to(DEVICE)).cpu(), transform(signal))


def test_operators_on_conjugate_and_negative_views_match_the_cpu():
    values = torch.randn(5, dtype=torch.complex64)
    (device_values,) = on_device(values)
    torch.testing.assert_close((device_values.conj() * 2).cpu(), values.conj() * 2)
    torch.testing.assert_close(device_values.conj().cpu(), values.conj())
    torch.testing.assert_close(torch.neg(device_values.conj()).cpu(), -values.conj())


def test_zero_tensors_without_memory_work_as_on_the_cpu():
    # torch._efficientzerotensor makes a tensor whose storage has no memory;
    # autograd uses it (sgn's backward at zero, for one). It once killed the process.
    zeros = torch._efficientzerotensor((3,), device=DEVICE)
    assert zeros.device.type == DEVICE and zeros._is_zerotensor()
    assert zeros.cpu().tolist() == [0.0, 0.0, 0.0]
    assert (zeros + torch.ones(3, device=DEVICE)).cpu().tolist() == [1.0, 1.0, 1.0]
    values = torch.tensor([0.0, -2.0, 3.0], requires_grad=True)
    on_host = torch.sgn(values)
    on_host.sum().backward()
    device_values = values.detach().to(DEVICE).requires_grad_()
    torch.sgn(device_values).sum().backward()
    torch.testing.assert_close(device_values.grad.cpu(), values.grad)


def test_attention_chooses_the_overrideable_fused_kernel():
    query = torch.randn(2, 4, 6, 16, device=DEVICE)
    choice = torch._fused_sdp_choice(query, query, query)
    assert choice == torch.nn.attention.SDPBackend.OVERRIDEABLE.value


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention_matches_the_cpu_with_gradients(causal):
    torch.manual_seed(0)
    query, key, value = (torch.randn(2, 4, 6, 16, requires_grad=True) for _ in range(3))
    device_inputs = [t.detach().to(DEVICE).requires_grad_() for t in (query, key, value)]

    expected = F.scaled_dot_product_attention(query, key, value, is_causal=causal)
    got = F.scaled_dot_product_attention(*device_inputs, is_causal=causal)
    expected.sum().backward()
    got.sum().backward()

    assert "Overrideable" in type(got.grad_fn).__name__
    torch.testing.assert_close(got.cpu(), expected)
    for device_input, cpu_input in zip(device_inputs, (query, key, value), strict=True):
        torch.testing.assert_close(device_input.grad.cpu(), cpu_input.grad)


def test_attention_with_a_mask_that_needs_grad_takes_the_math_path():
    query = torch.randn(1, 2, 4, 8, device=DEVICE)
    mask = torch.zeros(4, 4, device=DEVICE, requires_grad=True)
    out = F.scaled_dot_product_attention(query, query, query, attn_mask=mask)
    out.sum().backward()
    assert mask.grad is not None and mask.grad.device == query.device


def test_host_allocator_calls_work_after_device_use():
    torch.ones(4, device=DEVICE).sum().item()
    pinned = torch.ones(1024).pin_memory()
    assert pinned.is_pinned()
    if hasattr(torch.accelerator, "empty_host_cache"):  # torch 2.12 and later
        torch.accelerator.empty_host_cache()  # used to crash: no host allocator for the device
    assert torch.equal(pinned.to(DEVICE).cpu(), torch.ones(1024))


def test_mse_loss_does_not_warn_about_resizing():
    inputs, targets = on_device(torch.randn(3), torch.randn(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.mse_loss(inputs, targets)
    torch.testing.assert_close(loss.cpu(), F.mse_loss(inputs.cpu(), targets.cpu()))


def test_tensors_on_two_devices_are_refused(other_device):
    a = torch.randn(2, 2, device=f"{DEVICE}:0")
    b = torch.randn(2, 2, device=f"{DEVICE}:{other_device}")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        a @ b
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        torch.cat([a, b])


def test_a_host_tensor_mixed_with_device_tensors_is_refused():
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        torch.randn(3, device=DEVICE) + torch.randn(3)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        torch.mm(torch.randn(2, 2, device=DEVICE), torch.randn(2, 2))


def test_host_scalars_and_host_indices_are_accepted_as_on_cuda():
    values = torch.arange(5.0, device=DEVICE)
    assert (values + torch.tensor(2.0)).device == values.device
    assert values[torch.tensor([0, 2])].cpu().tolist() == [0.0, 2.0]


def test_partially_overlapping_writes_are_refused_as_on_the_cpu():
    values = torch.arange(5.0, device=DEVICE)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        values[1:].copy_(values[:-1])
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        torch.add(values[:-1], 1, out=values[1:])
    assert values.cpu().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_an_out_argument_of_the_wrong_size_is_resized_on_the_device():
    values = torch.arange(4.0, device=DEVICE)
    out = torch.empty(0, device=DEVICE)
    torch.mul(values, 2, out=out)
    assert out.device == values.device
    assert out.cpu().tolist() == [0.0, 2.0, 4.0, 6.0]


def test_results_of_operators_live_on_the_inputs_device(other_device):
    values = torch.arange(4.0, device=f"{DEVICE}:{other_device}")
    result = values * 3
    assert result.device == values.device
    assert backend.load().device_from_pointer(result.data_ptr()) == other_device


def test_as_strided_over_a_partial_view_matches_the_cpu():
    base = torch.arange(10.0)
    (device_base,) = on_device(base)
    got = device_base[2:].as_strided((3,), (2,), 1)
    assert torch.equal(got.cpu(), base[2:].as_strided((3,), (2,), 1))
    assert torch.equal((got * 1).cpu(), base[2:].as_strided((3,), (2,), 1))


def test_an_operator_waits_for_work_queued_before_it_on_the_stream():
    values = torch.zeros(1024, device=DEVICE)
    backend.sleep(100)
    values.fill_(3)  # queued behind the busy period
    assert (values + 1).sum().item() == 4 * 1024


def test_an_operator_does_not_wait_for_other_streams():
    values = torch.zeros(4, device=DEVICE)
    other = torch.Stream(device=f"{DEVICE}:0")
    with other:
        backend.sleep(300)
        values.fill_(7)
    assert (values + 1).cpu().tolist() == [1.0] * 4  # stale: nothing ordered it after the fill
    other.synchronize()
    assert (values + 1).cpu().tolist() == [8.0] * 4
