// Running torch's CPU kernels on device memory in place, for devices whose
// memory the host can address (driver::DeviceProperties::host_addressable):
// the operators the device has no kernel of its own for (fallback.cpp,
// convolution.cpp, attention.cpp) cost what they cost on the CPU.
//
// A HostCall
// - waits until the device's current stream has run the work queued before
//   (the operator runs on the calling thread, in stream order), and refuses
//   a stream that is capturing a graph;
// - aliases each device tensor as a CPU tensor over the same memory, with
//   one CPU storage per device storage, so that the CPU kernel's checks for
//   overlapping inputs and outputs see what they would on the CPU;
// - sends the CPU allocations the calling thread makes while it lives to the
//   device's memory, so that the kernel's results are handed back as device
//   tensors without a copy;
// - carries back what the kernel did to its arguments' metadata (an output
//   it resized).
// On a device without host_addressable memory, a HostCall copies instead:
// to_host downloads, to_device uploads (staging.h); kernels that mutate
// their arguments then need the copying fallback (at::native::cpu_fallback).
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/SmallVector.h>

namespace fakedevice {

// Waits until the device's current stream has run the work queued on it,
// for host code that is about to run on the device's memory in stream order
// (HostCall, the collectives); refuses a stream that is capturing a graph,
// naming `what`.
void wait_for_current_stream(int device, const char* what);

class HostCall {
 public:
  // `what` names the operator in errors (a capturing stream).
  HostCall(int device, const char* what);
  ~HostCall();
  HostCall(const HostCall&) = delete;
  HostCall& operator=(const HostCall&) = delete;

  // The CPU alias of a device tensor; other tensors (host, undefined) as they are.
  at::Tensor to_host(const at::Tensor& tensor);
  std::optional<at::Tensor> to_host(const std::optional<at::Tensor>& tensor);
  // The device tensor for a tensor the CPU kernel returned.
  at::Tensor to_device(const at::Tensor& tensor);

  // Boxed forms, for an operator's arguments and results on the stack.
  c10::IValue to_host(const c10::IValue& value);
  c10::IValue to_device(const c10::IValue& value);

  // Carries back resizes the kernel made to arguments. Call after the kernel.
  void write_back_arguments();

 private:
  c10::Storage host_storage(const c10::Storage& device_storage);
  c10::Storage device_storage(const c10::Storage& host_storage, bool sole_owner);
  c10::DataPtr take_memory(c10::StorageImpl* host, bool may_adopt);
  void write_back(c10::TensorImpl* host, const at::Tensor& device);

  struct StorageAlias {
    c10::StorageImpl* device;
    c10::Storage host;
  };
  struct TensorAlias {
    c10::TensorImpl* host_impl;
    at::Tensor host;
    at::Tensor device;
  };
  int device_;
  bool copying_;
  int previous_redirect_;
  c10::SmallVector<StorageAlias, 4> storages_;
  c10::SmallVector<TensorAlias, 4> tensors_;
};

// Makes the CPU allocator redirectable (installed once, when the extension
// loads).
void install_host_compute_allocator();

}  // namespace fakedevice
