// Kernels that move or set data: copies between the host and the device and
// between devices, fill_ and zero_. Each is queued on a stream, so it runs
// after the work queued before it; a blocking copy to or from the host then
// waits for it, as a synchronous copy on a real device does.
#include <ATen/core/Tensor.h>
#include <ATen/ops/from_blob.h>
#include <torch/library.h>

#include "backend/dtypes.h"
#include "backend/kernels.h"

namespace fakedevice {

KernelArg::KernelArg(const at::Tensor& tensor)
    : data(tensor.data_ptr()),
      sizes(tensor.sizes().vec()),
      strides(tensor.strides().vec()),
      dtype(tensor.scalar_type()),
      pin(tensor.data_ptr()) {}

at::Tensor KernelArg::view() const {
  return at::from_blob(data, sizes, strides, at::TensorOptions().dtype(dtype).device(at::kCPU));
}

namespace {

// Makes work submitted to `later` after this call wait for everything
// submitted to `earlier` before it.
void order_after(runtime::Stream later, runtime::Stream earlier) {
  const runtime::Event marker = runtime::create_event(earlier.device, false);
  runtime::record_event(marker, earlier);
  runtime::stream_wait_event(later, marker);
  runtime::destroy_event(marker);  // the queued wait keeps it alive
}

at::Tensor copy_from(const at::Tensor& self, const at::Tensor& dst, bool non_blocking) {
  check_supported_dtype(self.scalar_type(), "copy");
  check_supported_dtype(dst.scalar_type(), "copy");
  if (self.numel() == 0) {
    return dst;
  }
  KernelArg from(self);
  KernelArg to(dst);
  auto kernel = [from, to] { to.view().copy_(from.view()); };
  if (on_device(self) && on_device(dst) && self.device() != dst.device()) {
    // Between devices: run on the source's current stream, after the
    // destination's earlier work, and make the destination's current stream
    // wait for the copy. Asynchronous, as a device-to-device copy is.
    const runtime::Stream source = current_stream_of(self);
    const runtime::Stream destination = current_stream_of(dst);
    order_after(source, destination);
    launch(source, kernel);
    order_after(destination, source);
    return dst;
  }
  const runtime::Stream stream = current_stream_of(on_device(self) ? self : dst);
  launch(stream, kernel);
  // A copy to or from the host is synchronous unless non_blocking is asked
  // and the host memory is pinned: other host memory is the caller's, who may
  // reuse it as soon as the call returns (as on CUDA).
  const bool touches_host = !on_device(self) || !on_device(dst);
  if (touches_host && !(non_blocking && from.pinned() && to.pinned())) {
    runtime::synchronize_stream(stream);
  }
  return dst;
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  dst.resize_(self.sizes());  // may synchronize
  return copy_from(self, dst, /*non_blocking=*/false);
}

at::Tensor& fill(at::Tensor& self, const at::Scalar& value) {
  check_supported_dtype(self.scalar_type(), "fill_");
  if (self.numel() > 0) {
    launch(
        current_stream_of(self), [target = KernelArg(self), value] { target.view().fill_(value); });
  }
  return self;
}

at::Tensor& zero(at::Tensor& self) {
  return fill(self, 0);
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, MTIA, m) {
  m.impl("_copy_from", TORCH_FN(copy_from));
  m.impl("_copy_from_and_resize", TORCH_FN(copy_from_and_resize));
  m.impl("fill_.Scalar", TORCH_FN(fill));
  m.impl("zero_", TORCH_FN(zero));
}

}  // namespace fakedevice
