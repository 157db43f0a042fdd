// What the glue's own kernels (copy.cpp) are made of.
//
// On a device whose memory the host can address (the emulator's), a kernel
// is host code over device memory, launched on a stream. Devices without
// that capability get copying paths instead (staging.h); a port to real
// hardware replaces the host code with its device kernels.
//
// A kernel must not hold torch tensors: a tensor may own a Python object,
// which only a thread holding the GIL can release, and kernels run (and are
// destroyed) on the driver's threads while the caller may hold the GIL and
// wait for them. Nor may what it holds call the driver when destroyed. A
// kernel holds KernelArgs instead: the memory, its layout and its dtype; the
// driver keeps the memory allocated until the kernel has run.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "backend/common.h"
#include "backend/streams.h"

namespace fakedevice {

inline bool on_device(const at::Tensor& tensor) {
  return tensor.device().type() == kDeviceType;
}

// The device a device tensor lives on.
inline int device_index_of(const at::Tensor& tensor) {
  return resolve_device(tensor.device().index());
}

// The current stream of the device a tensor lives on.
inline driver::Stream current_stream_of(const at::Tensor& tensor) {
  return current_stream(device_index_of(tensor));
}

// Whether the host can compute on the device's memory in place
// (driver::DeviceProperties::host_addressable), read once per device.
bool host_addressable(int device);

struct KernelArg {
  explicit KernelArg(const at::Tensor& tensor);

  // A CPU tensor over the memory, for a kernel's body.
  at::Tensor view() const;

  void* data;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  c10::ScalarType dtype;
  bool conjugate;
  bool negative;
};

// Launches host code on `stream`, after the work queued there before. An
// error it raises is reported, in one line, by the next synchronize.
// `uses`: the device or pinned memory it touches.
void launch(
    driver::Stream stream,
    const char* name,
    std::function<void()> body,
    std::vector<const void*> uses);

}  // namespace fakedevice
