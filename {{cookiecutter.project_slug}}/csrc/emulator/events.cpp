// Events: reference-counted objects updated with atomics, so that the calls
// made with nothing queued (recording on an idle stream, queries,
// synchronizing a finished record) never take the engine mutex.
#include <thread>

#include "emulator/engine.h"
#include "emulator/failure.h"

namespace fakedevice::driver {

namespace {
std::atomic<std::size_t> live_events{0};
}  // namespace

EventState::EventState(int device_index, bool timing)
    : device(device_index), enable_timing(timing) {
  live_events.fetch_add(1, std::memory_order_relaxed);
}

EventState::~EventState() {
  live_events.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace fakedevice::driver

namespace fakedevice::emulator {
namespace engine {
namespace {

void release(EventState* event) noexcept {
  if (event->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    delete event;
  }
}

// Guards an event's timestamp (a spin lock: it is held for a few instructions).
class StampGuard {
 public:
  explicit StampGuard(EventState& event) : event_(event) {
    while (event_.stamping.test_and_set(std::memory_order_acquire)) {
      std::this_thread::yield();
    }
  }
  ~StampGuard() {
    event_.stamping.clear(std::memory_order_release);
  }
  StampGuard(const StampGuard&) = delete;
  StampGuard& operator=(const StampGuard&) = delete;

 private:
  EventState& event_;
};

}  // namespace

EventRef::EventRef(EventState* event) : event_(event) {
  event_->references.fetch_add(1, std::memory_order_relaxed);
}

EventRef::~EventRef() {
  if (event_ != nullptr) {
    release(event_);
  }
}

bool is_complete(const EventState& event, uint64_t version) {
  return event.completed.load(std::memory_order_acquire) >= version;
}

// Marks record `version` finished, unless a later record already finished
// (possible when the event was re-recorded on another stream).
void complete_record(EventState& event, uint64_t version) {
  const Clock::time_point now = event.enable_timing ? Clock::now() : Clock::time_point{};
  StampGuard guard(event);
  if (version > event.completed.load(std::memory_order_relaxed)) {
    event.completed_at = now;
    event.completed.store(version, std::memory_order_release);
  }
}

}  // namespace engine

std::size_t live_event_count() noexcept {
  return driver::live_events.load(std::memory_order_relaxed);
}

}  // namespace fakedevice::emulator

namespace fakedevice::driver {

using namespace emulator;
using namespace emulator::engine;

namespace {

void check_event(Event event) {
  if (event == nullptr) {
    fail(Status::kInvalidHandle, "a null event handle");
  }
}

}  // namespace

Status event_create(int device, unsigned flags, Event* event) {
  return translate([&] {
    check_usable();
    check_device(device);
    if ((flags & ~unsigned{kEventDisableTiming}) != 0) {
      fail(Status::kInvalidValue, "unknown event flags " + std::to_string(flags));
    }
    *event = new EventState(device, (flags & kEventDisableTiming) == 0);
  });
}

Status event_destroy(Event event) {
  if (event != nullptr) {
    release(event);  // the handle's reference; submitted commands hold their own
  }
  return Status::kSuccess;
}

Status event_record(Event event, Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    check_event(event);
    if (event->device != stream.device) {
      fail(
          Status::kInvalidValue,
          "an event of " + describe_device(event->device) + " cannot be recorded on " +
              describe_stream(stream));
    }
    State& s = state();
    if (quiet(s)) {
      // Nothing queued anywhere, so nothing ahead of it: it completes now.
      complete_record(*event, event->recorded.fetch_add(1) + 1);
      return;
    }
    std::unique_lock<std::mutex> lock(s.mutex);
    if (capturing_graph(s, stream) != nullptr) {
      // Recorded when the graph is launched, not now.
      submit(
          s,
          lock,
          stream,
          make_command(Record{EventRef(event), 0}, ActivityKind::kRecord, "record"));
      return;
    }
    const uint64_t version = event->recorded.fetch_add(1) + 1;
    auto it = s.queues.find(queue_key(stream));
    if (it == s.queues.end()) {
      complete_record(*event, version);
      s.progress.notify_all();
      unblock_waiters(s);  // a stream waiting on an older record may go on
    } else {
      submit(
          s,
          lock,
          stream,
          make_command(Record{EventRef(event), version}, ActivityKind::kRecord, "record"));
    }
  });
}

Status stream_wait_event(Stream stream, Event event) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    check_event(event);
    State& s = state();
    uint64_t version = event->recorded.load(std::memory_order_acquire);
    if (is_complete(*event, version) && s.capturing_streams.load(std::memory_order_acquire) == 0) {
      return;  // never recorded, or already complete: nothing to wait for
    }
    std::unique_lock<std::mutex> lock(s.mutex);
    if (capturing_graph(s, stream) != nullptr) {
      submit(s, lock, stream, make_command(Wait{EventRef(event), 0}, ActivityKind::kWait, "wait"));
      return;  // resolved at launch
    }
    version = event->recorded.load(std::memory_order_acquire);
    if (!is_complete(*event, version)) {
      submit(
          s,
          lock,
          stream,
          make_command(Wait{EventRef(event), version}, ActivityKind::kWait, "wait"));
    }
  });
}

Status event_query(Event event) {
  return translate([&] {
    check_usable();
    check_event(event);
    return is_complete(*event, event->recorded.load(std::memory_order_acquire)) ? Status::kSuccess
                                                                                : Status::kNotReady;
  });
}

Status event_synchronize(Event event) {
  return translate([&] {
    check_usable();
    check_event(event);
    const uint64_t version = event->recorded.load(std::memory_order_acquire);
    State& s = state();
    if (!is_complete(*event, version)) {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.progress.wait(lock, [&] { return is_complete(*event, version) || s.shut_down; });
    }
    report_async_error(s, event->device);
  });
}

Status event_elapsed_time(Event start, Event end, double* milliseconds) {
  return translate([&] {
    check_usable();
    check_event(start);
    check_event(end);
    if (!start->enable_timing || !end->enable_timing) {
      fail(Status::kInvalidHandle, "elapsed time needs two events created with timing enabled");
    }
    if (start->device != end->device) {
      // Each device has its own clock (cudaEventElapsedTime refuses them too).
      fail(
          Status::kInvalidValue,
          "elapsed time between events of two devices, " + describe_device(start->device) +
              " and " + describe_device(end->device));
    }
    Clock::time_point stamps[2];
    const Event events[2] = {start, end};
    for (int i = 0; i < 2; ++i) {
      const uint64_t recorded = events[i]->recorded.load(std::memory_order_acquire);
      if (recorded == 0 || !is_complete(*events[i], recorded)) {
        fail(Status::kNotReady, "elapsed time needs two recorded events that have completed");
      }
      StampGuard guard(*events[i]);
      stamps[i] = events[i]->completed_at;
    }
    *milliseconds = std::chrono::duration<double, std::milli>(stamps[1] - stamps[0]).count();
  });
}

}  // namespace fakedevice::driver
