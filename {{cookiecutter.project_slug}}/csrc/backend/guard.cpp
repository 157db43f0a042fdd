// The device guard: how c10 (DeviceGuard, StreamGuard, c10::Event,
// torch.Stream, torch.Event and most of torch.accelerator) drives the device.
// Each override delegates to the runtime; comments give the contract torch
// relies on.
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <cstdint>

#include "backend/allocator.h"
#include "backend/common.h"
#include "backend/dtypes.h"
#include "backend/torch_version.h"

namespace fakedevice {
namespace {

struct GuardImpl final : public c10::impl::DeviceGuardImplInterface {
  c10::DeviceType type() const override {
    return kDeviceType;
  }

  c10::Device exchangeDevice(c10::Device device) const override {
    const int previous = runtime::exchange_device(resolve_device(device));
    return c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(previous));
  }

  c10::Device getDevice() const override {
    return c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(runtime::current_device()));
  }

  void setDevice(c10::Device device) const override {
    runtime::set_current_device(resolve_device(device));
  }

  // Called from guard destructors: must not throw, so a bad index is ignored.
  void uncheckedSetDevice(c10::Device device) const noexcept override {
    try {
      runtime::set_current_device(resolve_device(device));
    } catch (...) {
    }
  }

  c10::Stream getStream(c10::Device device) const override {
    return to_torch(runtime::current_stream(resolve_device(device)));
  }

  c10::Stream getDefaultStream(c10::Device device) const override {
    return to_torch(runtime::default_stream(resolve_device(device)));
  }

  c10::Stream getStreamFromGlobalPool(c10::Device device, bool /*isHighPriority*/) const override {
    return to_torch(runtime::pool_stream(resolve_device(device)));
  }

  // torch.Stream() lands here with index -1 for the current device.
  c10::Stream getNewStream(c10::Device device, int /*priority*/) const override {
    return to_torch(runtime::new_stream(resolve_device(device)));
  }

  // Sets the current stream of the stream's device; the current device stays.
  c10::Stream exchangeStream(c10::Stream stream) const override {
    return to_torch(runtime::exchange_stream(from_torch(stream)));
  }

  c10::DeviceIndex deviceCount() const noexcept override {
    return static_cast<c10::DeviceIndex>(runtime::device_count());
  }

  // Creates the event on first record. BACKEND_DEFAULT is what
  // torch.Event(enable_timing=True) asks for; PYTORCH_DEFAULT has no timing.
  void record(
      void** event,
      const c10::Stream& stream,
      const c10::DeviceIndex device_index,
      const c10::EventFlag flag) const override {
    const runtime::Stream target = from_torch(stream);
    TORCH_CHECK(
        device_index < 0 || device_index == target.device,
        "event on device index ",
        static_cast<int>(device_index),
        " cannot be recorded on a stream of device index ",
        target.device);
    if (*event == nullptr) {
      *event =
          to_handle(runtime::create_event(target.device, flag == c10::EventFlag::BACKEND_DEFAULT));
    }
    runtime::record_event(from_handle(*event), target);
  }

  // Waiting on an event that was never recorded is a no-op.
  void block(void* event, const c10::Stream& stream) const override {
    if (event != nullptr) {
      runtime::stream_wait_event(from_torch(stream), from_handle(event));
    }
  }

  // An event that was never recorded counts as complete.
  bool queryEvent(void* event) const override {
    return event == nullptr || runtime::query_event(from_handle(event));
  }

  void synchronizeEvent(void* event) const override {
    if (event != nullptr) {
      runtime::synchronize_event(from_handle(event));
    }
  }

  // torch has already checked that both events were recorded, completed and
  // created with timing.
  double elapsedTime(
      void* start, void* end, const c10::DeviceIndex /*device_index*/) const override {
    return runtime::elapsed_ms(from_handle(start), from_handle(end));
  }

  // Called from c10::Event's destructor with any event this guard created.
  void destroyEvent(void* event, const c10::DeviceIndex /*device_index*/) const noexcept override {
    runtime::destroy_event(from_handle(event));
  }

  bool queryStream(const c10::Stream& stream) const override {
    return runtime::query_stream(from_torch(stream));
  }

  void synchronizeStream(const c10::Stream& stream) const override {
    runtime::synchronize_stream(from_torch(stream));
  }

  // Keeps a tensor's memory until the stream has finished the work queued on
  // it so far (tensor.record_stream).
  void recordDataPtrOnStream(const c10::DataPtr& data, const c10::Stream& stream) const override {
    record_data_ptr_on_stream(data, stream);
  }

  void synchronizeDevice(const c10::DeviceIndex device_index) const override {
    runtime::synchronize_device(resolve_device(device_index));
  }

#if FAKEDEVICE_TORCH_AT_LEAST(2, 13)
  // The three overrides below exist from torch 2.13 on (2.9.1 lacks them).

  // torch.accelerator.get_device_capability: the dtypes a tensor on the
  // device can have and be converted to and from (dtypes.h).
  c10::DeviceCapability getDeviceCapability(c10::Device device) const override {
    runtime::check_device(resolve_device(device));
    c10::DeviceCapability capability;
    auto& supported = capability.capability_data.supported_scalar_types;
#define FAKEDEVICE_REPORT_DTYPE(_, name) \
  supported.has_##name = is_supported_dtype(c10::ScalarType::name);
    AT_FORALL_SCALAR_TYPES_WITH_COMPLEX_AND_QINTS(FAKEDEVICE_REPORT_DTYPE)
#undef FAKEDEVICE_REPORT_DTYPE
    return capability;
  }

  // torch.Stream.native_handle: the stream id as a pointer, so the default
  // stream's handle is null, as CUDA's legacy default stream's is.
  void* getStreamNativeHandle(const c10::Stream stream) const override {
    const runtime::Stream target = from_torch(stream);
    runtime::check_stream(target);
    return reinterpret_cast<void*>(static_cast<std::intptr_t>(target.id));
  }

  // torch.Stream.is_capturing: true while the stream records an MTIA graph.
  bool isStreamCapturing(const c10::Stream& stream) const override {
    return runtime::is_capturing(from_torch(stream));
  }
#endif
};

}  // namespace

C10_REGISTER_GUARD_IMPL(MTIA, GuardImpl);

}  // namespace fakedevice
