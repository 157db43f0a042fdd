// The device guard (c10::impl::DeviceGuardImplInterface), registered for the
// MTIA device type. Declared here so that a typed guard can be built on it
// (static_type, and the DeviceType constructor, as c10::cuda's guard has).
#pragma once

#include <c10/core/impl/DeviceGuardImplInterface.h>

#include "backend/common.h"
#include "backend/torch_version.h"

namespace fakedevice {

struct GuardImpl final : public c10::impl::DeviceGuardImplInterface {
  static constexpr c10::DeviceType static_type = kDeviceType;

  GuardImpl() = default;
  explicit GuardImpl(c10::DeviceType type);

  c10::DeviceType type() const override;
  c10::Device exchangeDevice(c10::Device device) const override;
  c10::Device getDevice() const override;
  void setDevice(c10::Device device) const override;
  void uncheckedSetDevice(c10::Device device) const noexcept override;
  c10::Stream getStream(c10::Device device) const override;
  c10::Stream getDefaultStream(c10::Device device) const override;
  c10::Stream getStreamFromGlobalPool(c10::Device device, bool isHighPriority) const override;
  c10::Stream getNewStream(c10::Device device, int priority) const override;
  c10::Stream exchangeStream(c10::Stream stream) const override;
  c10::DeviceIndex deviceCount() const noexcept override;
  void record(
      void** event,
      const c10::Stream& stream,
      const c10::DeviceIndex device_index,
      const c10::EventFlag flag) const override;
  void block(void* event, const c10::Stream& stream) const override;
  bool queryEvent(void* event) const override;
  void synchronizeEvent(void* event) const override;
  double elapsedTime(void* start, void* end, const c10::DeviceIndex device_index) const override;
  void destroyEvent(void* event, const c10::DeviceIndex device_index) const noexcept override;
  bool queryStream(const c10::Stream& stream) const override;
  void synchronizeStream(const c10::Stream& stream) const override;
  void recordDataPtrOnStream(const c10::DataPtr& data, const c10::Stream& stream) const override;
  void synchronizeDevice(const c10::DeviceIndex device_index) const override;
#if FAKEDEVICE_TORCH_AT_LEAST(2, 10)
  c10::DeviceCapability getDeviceCapability(c10::Device device) const override;
#endif
#if FAKEDEVICE_TORCH_AT_LEAST(2, 11)
  void* getStreamNativeHandle(const c10::Stream stream) const override;
#endif
#if FAKEDEVICE_TORCH_AT_LEAST(2, 12)
  bool isStreamCapturing(const c10::Stream& stream) const override;
#endif
};

// Waits for all work on the device, with the GIL released (the hooks'
// deviceSynchronize and the guard's synchronizeDevice).
void synchronize_device(int device);

}  // namespace fakedevice
