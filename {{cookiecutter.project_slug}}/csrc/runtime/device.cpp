// Devices, stream ids and the per-thread current device and streams: the
// parts of the runtime that need no queue.
#include <array>
#include <atomic>
#include <mutex>
#include <string>
#include <utility>

#include "device_config.h"
#include "runtime/describe.h"
#include "runtime/runtime.h"

namespace fakedevice::runtime {

static_assert(
    config::kDeviceCount >= 1 && config::kDeviceCount <= kMaxDevices,
    "device_config.h asks for more devices than the runtime supports");

namespace {

constexpr int kStreamPoolSize = 4;

// Ids start at 1: 0 is every device's default stream.
std::atomic<StreamId> next_stream_id{1};

thread_local int current_device_index = 0;
// Zero-initialised: every device starts on its default stream.
thread_local std::array<StreamId, kMaxDevices> current_stream_ids{};

}  // namespace

int device_count() noexcept {
  return config::kDeviceCount;
}

void check_device(int device) {
  if (device < 0 || device >= device_count()) {
    throw Error(
        "device index " + std::to_string(device) +
        " is out of range: " + std::to_string(device_count()) + " " + config::kDeviceTypeName +
        " devices (valid indices 0 to " + std::to_string(device_count() - 1) + ")");
  }
}

int current_device() noexcept {
  return current_device_index;
}

void set_current_device(int device) {
  check_device(device);
  current_device_index = device;
}

int exchange_device(int device) {
  check_device(device);
  return std::exchange(current_device_index, device);
}

Stream default_stream(int device) {
  check_device(device);
  return Stream{device, kDefaultStreamId};
}

Stream new_stream(int device) {
  check_device(device);
  return Stream{device, next_stream_id.fetch_add(1, std::memory_order_relaxed)};
}

Stream pool_stream(int device) {
  check_device(device);
  static std::array<std::once_flag, kMaxDevices> filled;
  static std::array<std::array<StreamId, kStreamPoolSize>, kMaxDevices> pools;
  static std::array<std::atomic<unsigned>, kMaxDevices> next_in_pool{};
  std::call_once(filled[device], [device] {
    for (auto& id : pools[device]) {
      id = new_stream(device).id;
    }
  });
  const unsigned slot =
      next_in_pool[device].fetch_add(1, std::memory_order_relaxed) % kStreamPoolSize;
  return Stream{device, pools[device][slot]};
}

void check_stream(Stream stream) {
  check_device(stream.device);
  if (stream.id < 0 || stream.id >= next_stream_id.load(std::memory_order_relaxed)) {
    throw Error("unknown " + describe_stream(stream) + ": it was never created");
  }
}

Stream current_stream(int device) {
  check_device(device);
  return Stream{device, current_stream_ids[device]};
}

Stream exchange_stream(Stream stream) {
  check_stream(stream);
  const Stream previous{stream.device, current_stream_ids[stream.device]};
  current_stream_ids[stream.device] = stream.id;
  return previous;
}

}  // namespace fakedevice::runtime
