// Activity tracing: when and where each piece of submitted work ran, for the
// profiler (the glue's profiler.cpp reads the records). While tracing is off,
// the cost is one relaxed atomic load per command.
#include <atomic>
#include <mutex>
#include <vector>

#include "emulator/engine.h"
#include "emulator/failure.h"

namespace fakedevice::emulator::engine {
namespace {

std::atomic<bool> enabled{false};
std::mutex records_mutex;
std::vector<driver::ActivityRecord>* records = new std::vector<driver::ActivityRecord>();
thread_local uint64_t correlation_id = 0;

int64_t nanoseconds(Clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

}  // namespace

bool tracing() noexcept {
  return enabled.load(std::memory_order_relaxed);
}

Command make_command(Action action, driver::ActivityKind kind, std::string name) {
  Command command{std::move(action), kind, std::move(name)};
  command.correlation = correlation_id;
  return command;
}

void trace(const Command& command, Stream stream, Clock::time_point start, Clock::time_point end) {
  if (command.name.empty()) {
    return;  // the emulator's own bookkeeping
  }
  std::lock_guard<std::mutex> lock(records_mutex);
  records->push_back(
      driver::ActivityRecord{
          command.kind,
          command.name,
          stream.device,
          stream.id,
          nanoseconds(start),
          nanoseconds(end),
          command.correlation,
          command.bytes});
}

}  // namespace fakedevice::emulator::engine

namespace fakedevice::driver {

Status activity_enable(bool on) {
  emulator::engine::enabled.store(on, std::memory_order_relaxed);
  return Status::kSuccess;
}

Status activity_flush(std::vector<ActivityRecord>* out) {
  return emulator::translate([&] {
    std::lock_guard<std::mutex> lock(emulator::engine::records_mutex);
    out->insert(
        out->end(),
        std::make_move_iterator(emulator::engine::records->begin()),
        std::make_move_iterator(emulator::engine::records->end()));
    emulator::engine::records->clear();
  });
}

void set_correlation_id(uint64_t correlation) noexcept {
  emulator::engine::correlation_id = correlation;
}

}  // namespace fakedevice::driver
