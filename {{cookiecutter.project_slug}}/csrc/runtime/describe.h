// Names for devices and streams in the runtime's error messages.
#pragma once

#include <string>

#include "device_config.h"
#include "runtime/runtime.h"

namespace fakedevice::runtime {

inline std::string describe_device(int device) {
  return std::string(config::kDeviceTypeName) + ":" + std::to_string(device);
}

inline std::string describe_stream(Stream stream) {
  return "stream " + std::to_string(stream.id) + " on " + describe_device(stream.device);
}

}  // namespace fakedevice::runtime
