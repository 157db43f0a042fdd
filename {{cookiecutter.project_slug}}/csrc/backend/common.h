// Conversions between torch's device, stream and event handles and the
// driver's, shared by the guard, the hooks and the kernels.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/Stream.h>
#include <c10/util/Exception.h>

#include <cstdint>

#include "backend/check.h"
#include "device_config.h"
#include "driver/driver.h"

namespace fakedevice {

inline constexpr c10::DeviceType kDeviceType = c10::DeviceType::MTIA;

// The glue keeps per-device tables (current streams, statistics) this large.
inline constexpr int kMaxDevices = 16;
static_assert(config::kDeviceCount <= kMaxDevices, "device_config.h asks for too many devices");

// Refuses a device, stream or other `what` of another device type.
template <typename Shown>
void check_device_type(c10::DeviceType type, const char* what, const Shown& got) {
  TORCH_CHECK(
      type == kDeviceType,
      "expected a ",
      c10::DeviceTypeName(kDeviceType, /*lower_case=*/true),
      " ",
      what,
      ", got ",
      got);
}

inline int current_device() {
  int device = 0;
  FAKEDEVICE_CHECK(driver::get_device(&device));
  return device;
}

// Refuses an index outside the devices. torch stores indices in 8 bits, so
// mtia:200 arrives as -56: only -1 means "the current device".
[[noreturn]] void throw_bad_device_index(c10::DeviceIndex index);

inline int checked_device(int index) {
  if (C10_UNLIKELY(index < 0 || index >= driver::device_count())) {
    throw_bad_device_index(static_cast<c10::DeviceIndex>(index));
  }
  return index;
}

// torch passes -1 for "the current device".
inline int resolve_device(c10::DeviceIndex index) {
  return index == -1 ? current_device() : checked_device(index);
}

inline int resolve_device(c10::Device device) {
  check_device_type(device.type(), "device", device);
  return resolve_device(device.index());
}

inline c10::Stream to_torch(driver::Stream stream) {
  return c10::Stream(
      c10::Stream::UNSAFE,
      c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(stream.device)),
      stream.id);
}

inline driver::Stream from_torch(const c10::Stream& stream) {
  check_device_type(stream.device_type(), "stream", stream);
  return driver::Stream{resolve_device(stream.device_index()), stream.id()};
}

// torch stores an event as an opaque pointer and treats null as "not created
// yet"; the driver's event handle is such a pointer.
inline void* to_handle(driver::Event event) {
  return event;
}

inline driver::Event from_handle(void* event) {
  return static_cast<driver::Event>(event);
}

}  // namespace fakedevice
