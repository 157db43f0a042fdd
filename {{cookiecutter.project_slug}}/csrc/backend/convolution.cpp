// Convolutions. torch sends every convolution on a device it has no backend
// for to convolution_overrideable and convolution_backward_overrideable,
// which the boxed fallback never sees: these kernels run the CPU's
// convolution (all dims, transposed, grouped) on the device's memory.
#include <ATen/core/Tensor.h>
#include <ATen/ops/convolution.h>
#include <ATen/ops/convolution_backward.h>
#include <torch/library.h>

#include <optional>
#include <utility>

#include "backend/host_compute.h"
#include "backend/kernels.h"

namespace fakedevice {
namespace {

// The device all of them are on, with CUDA's message if one is elsewhere.
int device_of_inputs(
    const at::Tensor& input,
    const at::Tensor& weight,
    const std::optional<at::Tensor>& bias = std::nullopt) {
  const std::pair<const char*, const at::Tensor*> others[] = {
      {"weight", &weight}, {"bias", bias.has_value() ? &*bias : nullptr}};
  for (const auto& [name, tensor] : others) {
    TORCH_CHECK(
        tensor == nullptr || !tensor->defined() || tensor->device() == input.device(),
        "Expected all tensors to be on the same device, but got ",
        name,
        " is on ",
        tensor == nullptr ? input.device() : tensor->device(),
        ", different from other tensors on ",
        input.device(),
        " (when checking argument in method convolution)");
  }
  return device_index_of(input);
}

at::Tensor convolution(
    const at::Tensor& input,
    const at::Tensor& weight,
    const std::optional<at::Tensor>& bias,
    c10::SymIntArrayRef stride,
    c10::SymIntArrayRef padding,
    c10::SymIntArrayRef dilation,
    bool transposed,
    c10::SymIntArrayRef output_padding,
    c10::SymInt groups) {
  const int device = device_of_inputs(input, weight, bias);
  HostCall call(device, "aten::convolution");
  return call.to_device(
      at::convolution_symint(
          call.to_host(input),
          call.to_host(weight),
          call.to_host(bias),
          stride,
          padding,
          dilation,
          transposed,
          output_padding,
          std::move(groups)));
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> convolution_backward(
    const at::Tensor& grad_output,
    const at::Tensor& input,
    const at::Tensor& weight,
    c10::SymIntArrayRef stride,
    c10::SymIntArrayRef padding,
    c10::SymIntArrayRef dilation,
    bool transposed,
    c10::SymIntArrayRef output_padding,
    c10::SymInt groups,
    std::array<bool, 3> output_mask) {
  const int device = device_of_inputs(input, weight);
  HostCall call(device, "aten::convolution_backward");
  // The bias gradient's size: the output channels.
  std::optional<c10::SymIntArrayRef> bias_sizes;
  std::vector<c10::SymInt> channels;
  if (output_mask[2]) {
    channels.push_back(transposed ? weight.sym_size(1) * groups : weight.sym_size(0));
    bias_sizes = channels;
  }
  auto [grad_input, grad_weight, grad_bias] = at::convolution_backward_symint(
      call.to_host(grad_output),
      call.to_host(input),
      call.to_host(weight),
      bias_sizes,
      stride,
      padding,
      dilation,
      transposed,
      output_padding,
      std::move(groups),
      output_mask);
  return {call.to_device(grad_input), call.to_device(grad_weight), call.to_device(grad_bias)};
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, MTIA, m) {
  m.impl("convolution_overrideable", TORCH_FN(convolution));
  m.impl("convolution_backward_overrideable", TORCH_FN(convolution_backward));
}

}  // namespace fakedevice
