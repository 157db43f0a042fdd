// Kernels that move or set data: copies between the host and the device and
// between devices, fill_ and zero_. Each runs in order on a stream: the
// current stream of the device it touches. A blocking copy to or from the
// host then waits for it, as a synchronous copy on a real device does.
//
// A copy between layouts that match is one driver memcpy; others are
// kernels (host_addressable devices) or go through host memory (staging.h).
#include <ATen/MemoryOverlap.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_strided.h>
#include <torch/library.h>

#include <cmath>
#include <cstring>

#include "backend/allocator.h"
#include "backend/dtypes.h"
#include "backend/gil.h"
#include "backend/kernels.h"
#include "backend/staging.h"

namespace fakedevice {
namespace {

// Whether `a` and `b` hold their elements in the same order over one range
// of memory, so that copying one to the other is a memcpy of nbytes.
bool same_dense_layout(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.is_conj() == b.is_conj() &&
         a.is_neg() == b.is_neg() && a.sizes().equals(b.sizes()) &&
         a.strides().equals(b.strides()) && a.is_non_overlapping_and_dense();
}

std::size_t nbytes(const at::Tensor& tensor) {
  return static_cast<std::size_t>(tensor.numel()) * tensor.itemsize();
}

void wait_for(driver::Stream stream) {
  GilReleased no_gil;
  FAKEDEVICE_CHECK(driver::stream_synchronize(stream));
}

// Makes work submitted to `later` after this call wait for everything
// submitted to `earlier` before it.
void order_after(driver::Stream later, driver::Stream earlier) {
  driver::Event marker = nullptr;
  FAKEDEVICE_CHECK(driver::event_create(earlier.device, driver::kEventDisableTiming, &marker));
  const driver::Status recorded = driver::event_record(marker, earlier);
  const driver::Status waited =
      recorded == driver::Status::kSuccess ? driver::stream_wait_event(later, marker) : recorded;
  driver::event_destroy(marker);  // a queued wait keeps it alive
  FAKEDEVICE_CHECK(waited);
}

// A kernel that copies `from` into `to` with torch's CPU copy (any dtype,
// layout or broadcast).
// Host memory that is not pinned is not the driver's to keep: the caller
// waits for such a copy before it returns.
void launch_copy(driver::Stream stream, const at::Tensor& from, const at::Tensor& to) {
  const KernelArg source(from);
  const KernelArg target(to);
  std::vector<const void*> uses;
  for (const KernelArg* arg : {&source, &target}) {
    driver::PointerAttributes attributes;
    FAKEDEVICE_CHECK(driver::pointer_get_attributes(arg->data, &attributes));
    if (attributes.type != driver::MemoryType::kUnregistered) {
      uses.push_back(arg->data);
    }
  }
  launch(
      stream, "copy_", [source, target] { target.view().copy_(source.view()); }, std::move(uses));
}

// Between two tensors on the device (the same device or two).
void copy_on_device(const at::Tensor& src, const at::Tensor& dst, driver::Stream stream) {
  if (same_dense_layout(src, dst)) {
    FAKEDEVICE_CHECK(
        driver::memcpy_async(
            dst.data_ptr(),
            src.data_ptr(),
            nbytes(dst),
            driver::MemcpyKind::kDeviceToDevice,
            stream));
  } else if (host_addressable(stream.device)) {
    launch_copy(stream, src, dst);
  } else {
    upload(download(src), dst);
  }
}

// From the host to the device. Returns whether the copy may still be running
// (only from pinned memory, when non_blocking was asked).
bool copy_to_device(const at::Tensor& src, const at::Tensor& dst, bool non_blocking) {
  const driver::Stream stream = current_stream_of(dst);
  if (same_dense_layout(src, dst)) {
    FAKEDEVICE_CHECK(
        driver::memcpy_async(
            dst.data_ptr(),
            src.data_ptr(),
            nbytes(dst),
            driver::MemcpyKind::kHostToDevice,
            stream));
    return non_blocking && is_pinned_host_pointer(src.data_ptr());
  }
  if (dst.is_non_overlapping_and_dense()) {
    // Convert on the host into dst's layout, then one memcpy.
    const at::Tensor staged =
        at::empty_strided(dst.sizes(), dst.strides(), dst.options().device(at::kCPU));
    staged._set_conj(dst.is_conj());
    staged._set_neg(dst.is_neg());
    staged.copy_(src);
    FAKEDEVICE_CHECK(
        driver::memcpy_async(
            dst.data_ptr(),
            staged.data_ptr(),
            nbytes(dst),
            driver::MemcpyKind::kHostToDevice,
            stream));
    // `staged` is freed on return, and the driver reads pageable host memory
    // when the copy runs: wait for it here, not in the caller.
    wait_for(stream);
    return false;
  }
  if (host_addressable(stream.device)) {
    launch_copy(stream, src, dst);
    return false;
  }
  upload(src, dst);
  return false;
}

// From the device to the host. Returns whether the copy may still be running.
bool copy_to_host(const at::Tensor& src, const at::Tensor& dst, bool non_blocking) {
  const driver::Stream stream = current_stream_of(src);
  if (same_dense_layout(src, dst)) {
    FAKEDEVICE_CHECK(
        driver::memcpy_async(
            dst.data_ptr(),
            src.data_ptr(),
            nbytes(dst),
            driver::MemcpyKind::kDeviceToHost,
            stream));
    return non_blocking && is_pinned_host_pointer(dst.data_ptr());
  }
  if (host_addressable(stream.device)) {
    launch_copy(stream, src, dst);
    return false;
  }
  dst.copy_(download(src));
  return false;
}

at::Tensor copy_from(const at::Tensor& self, const at::Tensor& dst, bool non_blocking) {
  check_supported_dtype(self.scalar_type(), "copy");
  check_supported_dtype(dst.scalar_type(), "copy");
  if (self.numel() == 0 || self.is_same(dst)) {
    return dst;
  }
  // What TensorIterator checks for a CPU copy_, which never reaches it here.
  at::assert_no_internal_overlap(dst);
  at::assert_no_partial_overlap(dst, self);
  if (on_device(self) && on_device(dst)) {
    const driver::Stream source = current_stream_of(self);
    if (self.device() == dst.device()) {
      copy_on_device(self, dst, source);
      return dst;
    }
    // Between devices: run on the source's current stream, after the
    // destination's earlier work, and make the destination's current stream
    // wait for the copy. Asynchronous, as a device-to-device copy is.
    const driver::Stream destination = current_stream_of(dst);
    order_after(source, destination);
    copy_on_device(self, dst, source);
    order_after(destination, source);
    return dst;
  }
  // A copy to or from the host is synchronous unless non_blocking is asked
  // and the host memory is pinned: other host memory is the caller's, who may
  // reuse it as soon as the call returns (as on CUDA).
  const bool running = on_device(dst) ? copy_to_device(self, dst, non_blocking)
                                      : copy_to_host(self, dst, non_blocking);
  if (!running) {
    wait_for(current_stream_of(on_device(dst) ? dst : self));
  }
  return dst;
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  dst.resize_(self.sizes());  // may synchronize
  return copy_from(self, dst, /*non_blocking=*/false);
}

// A scalar whose bytes, in `dtype`, are all equal, as memset writes them.
bool byte_pattern(const at::Scalar& value, c10::ScalarType dtype, int* byte) {
  if (value.isBoolean() || value.isIntegral(false)) {
    if (value.toLong() == 0) {
      *byte = 0;
      return true;
    }
    if (c10::elementSize(dtype) == 1 && c10::isIntegralType(dtype, true)) {
      *byte = static_cast<int>(static_cast<uint8_t>(value.toLong()));
      return true;
    }
    return false;
  }
  if (value.isFloatingPoint() && value.toDouble() == 0.0 && !std::signbit(value.toDouble())) {
    *byte = 0;
    return true;
  }
  return false;
}

at::Tensor& fill(at::Tensor& self, const at::Scalar& value) {
  check_supported_dtype(self.scalar_type(), "fill_");
  if (self.numel() == 0) {
    return self;
  }
  at::assert_no_internal_overlap(self);
  if (!(value.isIntegral(/*includeBool=*/true) && value.toLong() == 0)) {
    // A value the dtype cannot hold is refused now, as the CPU refuses it,
    // not later by the queued kernel.
    at::empty({}, self.options().device(at::kCPU)).fill_(value);
  }
  const driver::Stream stream = current_stream_of(self);
  int byte = 0;
  if (self.is_non_overlapping_and_dense() && !self.is_neg() &&
      byte_pattern(value, self.scalar_type(), &byte)) {
    FAKEDEVICE_CHECK(driver::memset_async(self.data_ptr(), byte, nbytes(self), stream));
  } else if (host_addressable(stream.device)) {
    const KernelArg target(self);
    launch(stream, "fill_", [target, value] { target.view().fill_(value); }, {target.data});
  } else {
    at::Tensor values = at::empty({}, self.options().device(at::kCPU));
    values.fill_(value);
    upload(values, self);
  }
  return self;
}

at::Tensor& zero(at::Tensor& self) {
  return fill(self, 0);
}

}  // namespace

// torch resolves a tensor's conjugate and negative bits before most
// operators, by cloning, which for a device tensor is _copy_from again: an
// endless recursion. _copy_from handles both bits itself, so they pass
// through to it (CPU and CUDA copies never reach _copy_from).
TORCH_LIBRARY_IMPL(aten, Conjugate, m) {
  m.impl("_copy_from", torch::CppFunction::makeFallthrough());
  m.impl("_copy_from_and_resize", torch::CppFunction::makeFallthrough());
}

TORCH_LIBRARY_IMPL(aten, Negative, m) {
  m.impl("_copy_from", torch::CppFunction::makeFallthrough());
  m.impl("_copy_from_and_resize", torch::CppFunction::makeFallthrough());
}

TORCH_LIBRARY_IMPL(aten, MTIA, m) {
  m.impl("_copy_from", TORCH_FN(copy_from));
  m.impl("_copy_from_and_resize", TORCH_FN(copy_from_and_resize));
  m.impl("fill_.Scalar", TORCH_FN(fill));
  m.impl("zero_", TORCH_FN(zero));
}

}  // namespace fakedevice
