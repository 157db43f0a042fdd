// Devices, their properties, stream ids, the per-thread current device, and
// the driver's error reporting: the parts of the emulator that need no queue.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "device_config.h"
#include "emulator/emulator.h"
#include "emulator/failure.h"
#include "emulator/lifetime.h"

namespace fakedevice::emulator {

static_assert(
    config::kDeviceCount >= 1 && config::kDeviceCount <= kMaxDevices,
    "device_config.h asks for more devices than the emulator supports");

namespace {

// Stream ids other than the default stream's 0 carry their device: a new
// stream gets serial * kMaxDevices + device, with serials from 1, so that an
// id made on one device is not taken for a stream of another.
std::atomic<driver::StreamId> next_serial{1};

thread_local int current_device_index = 0;
thread_local std::string last_error;

}  // namespace

void set_last_error(std::string message) noexcept {
  try {
    last_error = std::move(message);
  } catch (...) {
  }
}

void check_device(int device) {
  if (device < 0 || device >= config::kDeviceCount) {
    fail(
        driver::Status::kInvalidDevice,
        "device index " + std::to_string(device) + " is out of range: " +
            std::to_string(config::kDeviceCount) + " " + config::kDeviceTypeName +
            " devices (valid indices 0 to " + std::to_string(config::kDeviceCount - 1) + ")");
  }
}

void check_stream(driver::Stream stream) {
  check_device(stream.device);
  if (stream.id == driver::kDefaultStreamId) {
    return;
  }
  const driver::StreamId serial = stream.id / kMaxDevices;
  if (stream.id < 0 || serial >= next_serial.load(std::memory_order_relaxed)) {
    fail(
        driver::Status::kInvalidHandle,
        "unknown " + describe_stream(stream) + ": it was never created");
  }
  if (stream.id % kMaxDevices != stream.device) {
    fail(
        driver::Status::kInvalidHandle,
        "stream " + std::to_string(stream.id) + " belongs to " +
            describe_device(static_cast<int>(stream.id % kMaxDevices)) + ", not to " +
            describe_device(stream.device));
  }
}

// Reads the test switch that makes device memory look separate from the
// host's, so that the glue's copying paths run (see the README).
bool host_addressable() {
  static const bool addressable = [] {
    const char* value = std::getenv(config::kSeparateMemoryVariable);
    return value == nullptr || std::strcmp(value, "") == 0 || std::strcmp(value, "0") == 0;
  }();
  return addressable;
}

}  // namespace fakedevice::emulator

namespace fakedevice::driver {

using namespace emulator;

const char* status_name(Status status) noexcept {
  switch (status) {
    case Status::kSuccess:
      return "kSuccess";
    case Status::kNotReady:
      return "kNotReady";
    case Status::kInvalidValue:
      return "kInvalidValue";
    case Status::kInvalidDevice:
      return "kInvalidDevice";
    case Status::kInvalidHandle:
      return "kInvalidHandle";
    case Status::kOutOfMemory:
      return "kOutOfMemory";
    case Status::kNotPermittedWhileCapturing:
      return "kNotPermittedWhileCapturing";
    case Status::kCaptureInvalidated:
      return "kCaptureInvalidated";
    case Status::kIllegalState:
      return "kIllegalState";
    case Status::kAsynchronousFailure:
      return "kAsynchronousFailure";
    case Status::kNotSupported:
      return "kNotSupported";
    case Status::kUnavailableAfterFork:
      return "kUnavailableAfterFork";
    case Status::kInternal:
      return "kInternal";
  }
  return "an unknown status";
}

std::string last_error_message() {
  return emulator::last_error;
}

int device_count() noexcept {
  return config::kDeviceCount;
}

Status get_device(int* device) {
  *device = current_device_index;
  return Status::kSuccess;
}

Status set_device(int device) {
  return translate([&] {
    check_device(device);
    current_device_index = device;
  });
}

Status get_device_properties(int device, DeviceProperties* properties) {
  return translate([&] {
    check_device(device);
    std::size_t capacity = 0;
    const Status status = memory_capacity(device, &capacity);
    if (status != Status::kSuccess) {
      fail(status, last_error_message());
    }
    properties->name = config::kDeviceName;
    properties->total_memory = capacity;
    properties->major = config::kCapabilityMajor;
    properties->minor = config::kCapabilityMinor;
    properties->host_addressable = host_addressable();
  });
}

Status stream_create(int device, Stream* stream) {
  return translate([&] {
    check_usable();
    check_device(device);
    mark_used();
    const StreamId serial = next_serial.fetch_add(1, std::memory_order_relaxed);
    *stream = Stream{device, serial * kMaxDevices + device};
  });
}

Status stream_check(Stream stream) {
  return translate([&] { check_stream(stream); });
}

}  // namespace fakedevice::driver
