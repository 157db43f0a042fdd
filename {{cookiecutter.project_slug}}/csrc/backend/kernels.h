// Helpers for the kernels in copy.cpp: device memory is host memory, so a
// kernel is a CPU operation on a CPU view of it, queued on a stream.
//
// A kernel must not hold torch tensors: a tensor may own a Python object,
// which only a thread holding the GIL can release, and kernels run (and are
// destroyed) on the runtime's threads while the caller may hold the GIL and
// wait for them. A kernel holds a KernelArg instead: the memory, its layout,
// and a pin that keeps the memory allocated until the kernel is destroyed.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "backend/common.h"

namespace fakedevice {

inline bool on_device(const at::Tensor& tensor) {
  return tensor.device().type() == kDeviceType;
}

// The current stream of the device a tensor lives on.
inline runtime::Stream current_stream_of(const at::Tensor& tensor) {
  return runtime::current_stream(resolve_device(tensor.device().index()));
}

struct KernelArg {
  explicit KernelArg(const at::Tensor& tensor);

  // A CPU tensor over the memory, for the kernel's body.
  at::Tensor view() const;

  // Whether the runtime owns the memory (device or pinned host memory), so
  // that the pin keeps it alive; other host memory is the caller's.
  bool pinned() const {
    return static_cast<bool>(pin);
  }

  void* data;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  c10::ScalarType dtype;
  runtime::BlockPin pin;
};

// Queues `kernel` on `stream`, behind the work queued there before.
inline void launch(runtime::Stream stream, std::function<void()> kernel) {
  runtime::enqueue(stream, std::move(kernel));
}

}  // namespace fakedevice
