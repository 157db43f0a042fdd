#include "backend/check.h"

#include "backend/common.h"

#include <c10/util/Exception.h>

#include <string>

namespace fakedevice {
namespace {

std::string describe(driver::Status status, const char* call) {
  std::string message = driver::last_error_message();
  if (message.empty()) {
    message = std::string(driver::status_name(status)) + " from " + call;
  }
  return message;
}

}  // namespace

void throw_driver_error(driver::Status status, const char* call) {
  const std::string message = describe(status, call);
  switch (status) {
    case driver::Status::kOutOfMemory:
      TORCH_CHECK_WITH(OutOfMemoryError, false, message);
    case driver::Status::kNotSupported:
      TORCH_CHECK_NOT_IMPLEMENTED(false, message);
    default:
      TORCH_CHECK(false, message);
  }
}

void warn_driver_error(driver::Status status, const char* call) noexcept {
  try {
    TORCH_WARN(describe(status, call));
  } catch (...) {
  }
}

}  // namespace fakedevice

namespace fakedevice {

void throw_bad_device_index(c10::DeviceIndex index) {
  // An index below -1 is one above 127 that torch's 8-bit index wrapped, or
  // a negative one as written: which, torch no longer knows.
  const std::string shown = index < -1
                                ? std::to_string(index + 256) + " (or " + std::to_string(index) +
                                      ": torch keeps device indices in 8 bits)"
                                : std::to_string(index);
  const int count = driver::device_count();
  TORCH_CHECK(
      false,
      "device index ",
      shown,
      " is out of range: ",
      count,
      " ",
      config::kDeviceTypeName,
      " devices (valid indices 0 to ",
      count - 1,
      ")");
}

}  // namespace fakedevice
