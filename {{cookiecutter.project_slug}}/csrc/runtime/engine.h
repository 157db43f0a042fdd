// Internal to the runtime: the state shared by execution.cpp (queues, worker
// threads, events) and graphs.cpp (capture and replay).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/runtime.h"

namespace fakedevice::runtime {

using Clock = std::chrono::steady_clock;

struct EventState {
  EventState(int device_index, bool timing);
  ~EventState();

  const int device;
  const bool enable_timing;
  // The handle, plus one for each queued or captured command naming the event.
  std::atomic<int> references{1};
  // Records are numbered 1, 2, ...; `completed` is the highest one finished.
  std::atomic<uint64_t> recorded{0};
  std::atomic<uint64_t> completed{0};
  // Guards completed_at, and keeps it in step with `completed`.
  std::atomic_flag stamping = ATOMIC_FLAG_INIT;
  Clock::time_point completed_at{};
};

namespace engine {

// A counted reference to an event, held by queued and captured commands.
class EventRef {
 public:
  explicit EventRef(EventState* event);
  EventRef(const EventRef& other) : EventRef(other.event_) {}
  EventRef(EventRef&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  EventRef& operator=(EventRef other) noexcept {
    std::swap(event_, other.event_);
    return *this;
  }
  ~EventRef();
  EventState* get() const {
    return event_;
  }
  EventState* operator->() const {
    return event_;
  }

 private:
  EventState* event_;
};

// Commands a stream runs. In a graph, Record and Wait carry version 0: the
// version is taken when the graph is replayed.
struct Sleep {
  Clock::duration duration;
};
struct Record {
  EventRef event;
  uint64_t version;
};
struct Wait {
  EventRef event;
  uint64_t version;
};
struct Task {
  std::function<void()> run;
};
using Command = std::variant<Sleep, Record, Wait, Task>;

struct StreamQueue {
  explicit StreamQueue(Stream s) : stream(s) {}
  const Stream stream;
  std::deque<Command> pending;
  bool running = false;  // a command has left `pending` and not finished
  bool has_worker = false;
  uint64_t submitted = 0;
  uint64_t finished = 0;
  std::condition_variable work_ready;  // new work, or shutdown
};
using QueuePtr = std::shared_ptr<StreamQueue>;

struct Graph {
  enum class Phase { kEmpty, kCapturing, kCaptured, kInstantiated };
  bool keep_graph = false;
  Phase phase = Phase::kEmpty;
  Stream capture_stream{0, 0};
  std::vector<Command> commands;
};

struct State {
  std::mutex mutex;
  // Notified whenever a command finishes and at shutdown; everything that
  // waits for progress re-checks its condition.
  std::condition_variable progress;
  // Only streams that have work or a lingering worker.
  std::unordered_map<uint64_t, QueuePtr> queues;
  // How many queues are not idle, and how many streams are capturing. While
  // both are 0, the fast paths skip the mutex. Changed under the mutex.
  std::atomic<int> busy_queues{0};
  std::atomic<int> capturing_streams{0};
  // The first error a task threw on each device, until a synchronize reports it.
  std::string async_errors[kMaxDevices];
  std::atomic<bool> has_async_error{false};
  // Graphs, and which graph each capturing stream records into.
  std::unordered_map<GraphId, Graph> graphs;
  std::unordered_map<uint64_t, GraphId> capture_of_stream;
  GraphId next_graph = 1;
  int workers = 0;
  bool shut_down = false;
};

// Never destroyed: detached workers may still touch it while the process
// exits, after static destructors have run.
State& state();

uint64_t queue_key(Stream stream);

// True while no stream has work queued and none is capturing.
inline bool quiet(const State& s) {
  return s.busy_queues.load(std::memory_order_acquire) == 0 &&
         s.capturing_streams.load(std::memory_order_acquire) == 0;
}

// Runs `command` on `stream`: queued behind earlier work, stored in a graph if
// the stream is capturing, or run inline after shutdown. Lock held.
void submit(State& s, std::unique_lock<std::mutex>& lock, Stream stream, Command command);

// For the runtime's own bookkeeping (freeing memory once streams are done
// with it): runs `task` at once if the stream is idle, else queues it behind
// the stream's work, even while the stream captures a graph. Lock not held;
// never throws.
void run_after_queued_work(Stream stream, std::function<void()> task) noexcept;

// The graph `stream` is capturing into, or null. Lock held.
Graph* capturing_graph(State& s, Stream stream);

// Throws if `stream` is capturing: it cannot be queried or synchronized.
// Lock held.
void check_not_capturing(State& s, Stream stream, const char* what);

}  // namespace engine
}  // namespace fakedevice::runtime
