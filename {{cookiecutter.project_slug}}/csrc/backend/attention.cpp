// scaled_dot_product_attention. torch asks each device which fused kernel to
// use (_fused_sdp_choice_stub); a backend outside the CUDA family answers
// OVERRIDEABLE and implements _scaled_dot_product_fused_attention_overrideable
// and its backward. This one runs the CPU's flash attention on the device's
// memory where the CPU would (same shapes, dtypes, masks; no dropout, no
// gradient for the mask), and otherwise answers MATH, which decomposes the
// attention into operators the device runs.
#include <ATen/SDPBackend.h>
#include <ATen/core/Tensor.h>
#include <ATen/native/DispatchStub.h>
#include <ATen/native/transformers/attention.h>
#include <ATen/ops/_fused_sdp_choice.h>
#include <ATen/ops/_scaled_dot_product_flash_attention_for_cpu.h>
#include <ATen/ops/_scaled_dot_product_flash_attention_for_cpu_backward.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "backend/host_compute.h"
#include "backend/kernels.h"

namespace fakedevice {
namespace {

int64_t choose_attention(
    const at::Tensor& query,
    const at::Tensor& key,
    const at::Tensor& value,
    const std::optional<at::Tensor>& attn_mask,
    double dropout_p,
    bool is_causal,
    std::optional<double> scale,
    bool enable_gqa) {
  constexpr auto kMath = static_cast<int64_t>(at::SDPBackend::math);
  const bool mask_needs_grad = attn_mask.has_value() && attn_mask->requires_grad();
  if (dropout_p != 0.0 || mask_needs_grad || query.dim() != 4 || key.dim() != 4 ||
      query.size(1) != key.size(1) || query.device() != key.device() ||
      query.device() != value.device()) {
    return kMath;
  }
  // Ask the CPU's own rules about the same tensors.
  HostCall call(device_index_of(query), "aten::_fused_sdp_choice");
  const int64_t cpu_choice = at::_fused_sdp_choice(
      call.to_host(query),
      call.to_host(key),
      call.to_host(value),
      call.to_host(attn_mask),
      dropout_p,
      is_causal,
      scale,
      enable_gqa);
  return cpu_choice == static_cast<int64_t>(at::SDPBackend::flash_attention)
             ? static_cast<int64_t>(at::SDPBackend::overrideable)
             : kMath;
}

std::tuple<
    at::Tensor,
    at::Tensor,
    at::Tensor,
    at::Tensor,
    c10::SymInt,
    c10::SymInt,
    at::Tensor,
    at::Tensor,
    at::Tensor>
attention_forward(
    const at::Tensor& query,
    const at::Tensor& key,
    const at::Tensor& value,
    const std::optional<at::Tensor>& attn_bias,
    double dropout_p,
    bool is_causal,
    bool /*return_debug_mask*/,
    std::optional<double> scale) {
  HostCall call(device_index_of(query), "aten::_scaled_dot_product_fused_attention_overrideable");
  auto [output, logsumexp] = at::_scaled_dot_product_flash_attention_for_cpu(
      call.to_host(query),
      call.to_host(key),
      call.to_host(value),
      dropout_p,
      is_causal,
      call.to_host(attn_bias),
      scale);
  const auto empty = at::empty({0}, query.options().dtype(at::kLong));
  return {
      call.to_device(output),
      call.to_device(logsumexp),
      empty,
      empty,
      query.sym_size(2),
      key.sym_size(2),
      empty,
      empty,
      at::empty({0}, query.options())};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_backward(
    const at::Tensor& grad_out,
    const at::Tensor& query,
    const at::Tensor& key,
    const at::Tensor& value,
    const at::Tensor& attn_bias,
    std::array<bool, 4> grad_input_mask,
    const at::Tensor& out,
    const at::Tensor& logsumexp,
    const at::Tensor& /*cum_seq_q*/,
    const at::Tensor& /*cum_seq_k*/,
    int64_t /*max_q*/,
    int64_t /*max_k*/,
    double dropout_p,
    bool is_causal,
    const at::Tensor& /*philox_seed*/,
    const at::Tensor& /*philox_offset*/,
    std::optional<double> scale) {
  TORCH_CHECK_NOT_IMPLEMENTED(
      !grad_input_mask[3],
      "the fused attention of the ",
      kDeviceType,
      " device gives no gradient for attn_mask (torch chooses the math backend for a mask "
      "that requires grad)");
  HostCall call(
      device_index_of(query), "aten::_scaled_dot_product_fused_attention_overrideable_backward");
  const std::optional<at::Tensor> mask =
      attn_bias.defined() ? std::optional<at::Tensor>(call.to_host(attn_bias)) : std::nullopt;
  auto [grad_query, grad_key, grad_value] =
      at::_scaled_dot_product_flash_attention_for_cpu_backward(
          call.to_host(grad_out),
          call.to_host(query),
          call.to_host(key),
          call.to_host(value),
          call.to_host(out),
          call.to_host(logsumexp),
          dropout_p,
          is_causal,
          mask,
          scale);
  return {call.to_device(grad_query), call.to_device(grad_key), call.to_device(grad_value), {}};
}

}  // namespace

}  // namespace fakedevice

namespace at::native {
REGISTER_MTIA_DISPATCH(_fused_sdp_choice_stub, &fakedevice::choose_attention)
}  // namespace at::native

namespace fakedevice {

TORCH_LIBRARY_IMPL(aten, MTIA, m) {
  m.impl("_fused_sdp_choice", TORCH_FN(choose_attention));
  m.impl("_scaled_dot_product_fused_attention_overrideable", TORCH_FN(attention_forward));
  m.impl("_scaled_dot_product_fused_attention_overrideable_backward", TORCH_FN(attention_backward));
}

}  // namespace fakedevice
