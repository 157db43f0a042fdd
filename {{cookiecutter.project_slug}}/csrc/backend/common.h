// Conversions between torch's device, stream and event handles and the
// runtime's, shared by the guard and the hooks.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/Stream.h>
#include <c10/util/Exception.h>

#include "runtime/runtime.h"

namespace fakedevice {

inline constexpr c10::DeviceType kDeviceType = c10::DeviceType::MTIA;

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

// torch passes -1 for "the current device".
inline int resolve_device(c10::DeviceIndex index) {
  return index < 0 ? runtime::current_device() : index;
}

inline int resolve_device(c10::Device device) {
  check_device_type(device.type(), "device", device);
  return resolve_device(device.index());
}

inline c10::Stream to_torch(runtime::Stream stream) {
  return c10::Stream(
      c10::Stream::UNSAFE,
      c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(stream.device)),
      stream.id);
}

inline runtime::Stream from_torch(const c10::Stream& stream) {
  check_device_type(stream.device_type(), "stream", stream);
  return runtime::Stream{resolve_device(stream.device_index()), stream.id()};
}

// torch stores an event as an opaque pointer and treats null as "not created
// yet"; the runtime's event handle is such a pointer.
inline void* to_handle(runtime::Event event) {
  return event;
}

inline runtime::Event from_handle(void* event) {
  return static_cast<runtime::Event>(event);
}

}  // namespace fakedevice
