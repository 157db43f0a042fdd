#include "runtime/runtime.h"

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "device_config.h"

namespace fakedevice::runtime {

static_assert(
    config::kDeviceCount >= 1 && config::kDeviceCount <= kMaxDevices,
    "device_config.h asks for more devices than the runtime supports");

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kStreamPoolSize = 4;

// Ids start at 1: 0 is every device's default stream.
std::atomic<StreamId> next_stream_id{1};
std::atomic<EventId> next_event_id{1};

thread_local int current_device_index = 0;
// Zero-initialised: every device starts on its default stream.
thread_local std::array<StreamId, kMaxDevices> current_stream_ids{};

struct EventState {
  int device;
  bool enable_timing;
  bool recorded = false;
  Clock::time_point completed_at;
};

// Events are created and destroyed from any thread.
std::mutex events_mutex;
std::unordered_map<EventId, EventState> events;

std::string device_name(int device) {
  return std::string(config::kDeviceTypeName) + ":" + std::to_string(device);
}

// Looks an event up; the caller holds events_mutex.
EventState& find_event(EventId event) {
  auto it = events.find(event);
  if (it == events.end()) {
    throw Error(
        "unknown event " + std::to_string(event) +
        ": it was never created or has been destroyed");
  }
  return it->second;
}

}  // namespace

int device_count() noexcept {
  return config::kDeviceCount;
}

void check_device(int device) {
  if (device < 0 || device >= device_count()) {
    throw Error(
        "device index " + std::to_string(device) + " is out of range: " +
        std::to_string(device_count()) + " " + config::kDeviceTypeName +
        " devices (valid indices 0 to " +
        std::to_string(device_count() - 1) + ")");
  }
}

int current_device() noexcept {
  return current_device_index;
}

void set_current_device(int device) {
  check_device(device);
  current_device_index = device;
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
  unsigned slot =
      next_in_pool[device].fetch_add(1, std::memory_order_relaxed) %
      kStreamPoolSize;
  return Stream{device, pools[device][slot]};
}

void check_stream(Stream stream) {
  check_device(stream.device);
  if (stream.id < 0 ||
      stream.id >= next_stream_id.load(std::memory_order_relaxed)) {
    throw Error(
        "unknown stream " + std::to_string(stream.id) + " on " +
        device_name(stream.device) + ": it was never created");
  }
}

Stream current_stream(int device) {
  check_device(device);
  return Stream{device, current_stream_ids[device]};
}

Stream exchange_stream(Stream stream) {
  check_stream(stream);
  Stream previous{stream.device, current_stream_ids[stream.device]};
  current_stream_ids[stream.device] = stream.id;
  return previous;
}

bool query_stream(Stream stream) {
  check_stream(stream);
  return true;
}

void synchronize_stream(Stream stream) {
  check_stream(stream);
}

void synchronize_device(int device) {
  check_device(device);
}

EventId create_event(int device, bool enable_timing) {
  check_device(device);
  EventId id = next_event_id.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(events_mutex);
  events.emplace(id, EventState{device, enable_timing});
  return id;
}

void destroy_event(EventId event) noexcept {
  std::lock_guard<std::mutex> lock(events_mutex);
  events.erase(event);
}

int event_device(EventId event) {
  std::lock_guard<std::mutex> lock(events_mutex);
  return find_event(event).device;
}

void record_event(EventId event, Stream stream) {
  check_stream(stream);
  std::lock_guard<std::mutex> lock(events_mutex);
  EventState& state = find_event(event);
  if (state.device != stream.device) {
    throw Error(
        "event " + std::to_string(event) + " belongs to " +
        device_name(state.device) + " and cannot be recorded on a stream of " +
        device_name(stream.device));
  }
  state.recorded = true;
  state.completed_at = Clock::now();
}

void stream_wait_event(Stream stream, EventId event) {
  check_stream(stream);
  std::lock_guard<std::mutex> lock(events_mutex);
  find_event(event);
}

bool query_event(EventId event) {
  std::lock_guard<std::mutex> lock(events_mutex);
  find_event(event);
  return true;
}

void synchronize_event(EventId event) {
  std::lock_guard<std::mutex> lock(events_mutex);
  find_event(event);
}

double elapsed_ms(EventId start, EventId end) {
  std::lock_guard<std::mutex> lock(events_mutex);
  const EventState& first = find_event(start);
  const EventState& second = find_event(end);
  if (!first.enable_timing || !second.enable_timing) {
    throw Error("elapsed time needs two events created with enable_timing=True");
  }
  if (!first.recorded || !second.recorded) {
    throw Error("elapsed time needs two recorded events");
  }
  return std::chrono::duration<double, std::milli>(
             second.completed_at - first.completed_at)
      .count();
}

}  // namespace fakedevice::runtime
