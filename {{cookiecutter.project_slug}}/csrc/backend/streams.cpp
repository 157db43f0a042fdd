#include "backend/streams.h"

#include <array>
#include <atomic>
#include <mutex>

namespace fakedevice {
namespace {

constexpr int kStreamPoolSize = 4;

// Zero-initialised: every device starts on its default stream.
thread_local std::array<driver::StreamId, kMaxDevices> current_stream_ids{};

}  // namespace

driver::Stream default_stream(int device) {
  return driver::Stream{checked_device(device), driver::kDefaultStreamId};
}

driver::Stream new_stream(int device) {
  driver::Stream stream{};
  FAKEDEVICE_CHECK(driver::stream_create(checked_device(device), &stream));
  return stream;
}

driver::Stream pool_stream(int device) {
  checked_device(device);
  static std::array<std::once_flag, kMaxDevices> filled;
  static std::array<std::array<driver::StreamId, kStreamPoolSize>, kMaxDevices> pools;
  static std::array<std::atomic<unsigned>, kMaxDevices> next_in_pool{};
  std::call_once(filled[device], [device] {
    for (auto& id : pools[device]) {
      id = new_stream(device).id;
    }
  });
  const unsigned slot =
      next_in_pool[device].fetch_add(1, std::memory_order_relaxed) % kStreamPoolSize;
  return driver::Stream{device, pools[device][slot]};
}

driver::Stream current_stream(int device) {
  return driver::Stream{checked_device(device), current_stream_ids[device]};
}

driver::Stream exchange_stream(driver::Stream stream) {
  FAKEDEVICE_CHECK(driver::stream_check(stream));
  const driver::Stream previous{stream.device, current_stream_ids[stream.device]};
  current_stream_ids[stream.device] = stream.id;
  return previous;
}

}  // namespace fakedevice
