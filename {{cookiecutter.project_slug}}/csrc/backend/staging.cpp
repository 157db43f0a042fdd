#include "backend/staging.h"

#include <ATen/ops/empty.h>

#include "backend/gil.h"
#include "backend/kernels.h"

namespace fakedevice {
namespace {

// The elements a strided tensor can touch: [first, first + count).
struct Span {
  int64_t first;
  int64_t count;
};

Span span_of(const at::Tensor& tensor) {
  int64_t last = tensor.storage_offset();
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    last += (tensor.size(d) - 1) * tensor.stride(d);
  }
  return {tensor.storage_offset(), last - tensor.storage_offset() + 1};
}

void* element_address(const at::Tensor& tensor, int64_t element) {
  return static_cast<char*>(tensor.storage().mutable_data()) + element * tensor.itemsize();
}

void wait(driver::Stream stream) {
  GilReleased no_gil;
  FAKEDEVICE_CHECK(driver::stream_synchronize(stream));
}

}  // namespace

at::Tensor download(const at::Tensor& device_tensor) {
  const Span span = span_of(device_tensor);
  at::Tensor buffer = at::empty({span.count}, device_tensor.options().device(at::kCPU));
  const driver::Stream stream = current_stream_of(device_tensor);
  FAKEDEVICE_CHECK(
      driver::memcpy_async(
          buffer.data_ptr(),
          element_address(device_tensor, span.first),
          span.count * device_tensor.itemsize(),
          driver::MemcpyKind::kDeviceToHost,
          stream));
  wait(stream);
  at::Tensor host = buffer.as_strided(device_tensor.sizes(), device_tensor.strides(), 0);
  host._set_conj(device_tensor.is_conj());
  host._set_neg(device_tensor.is_neg());
  return host;
}

void upload(const at::Tensor& host_values, const at::Tensor& device_tensor) {
  const Span span = span_of(device_tensor);
  // The whole span goes back, so it is read first: elements in it that are
  // not the tensor's keep their values.
  at::Tensor staged = download(device_tensor);
  staged.copy_(host_values);
  const driver::Stream stream = current_stream_of(device_tensor);
  FAKEDEVICE_CHECK(
      driver::memcpy_async(
          element_address(device_tensor, span.first),
          staged.storage().data(),
          span.count * device_tensor.itemsize(),
          driver::MemcpyKind::kHostToDevice,
          stream));
  wait(stream);
}

at::Tensor upload_new(const at::Tensor& host_values, c10::Device device) {
  at::Tensor result = at::empty(host_values.sizes(), host_values.options().device(device));
  if (result.numel() > 0) {
    upload(host_values, result);
  }
  return result;
}

}  // namespace fakedevice
