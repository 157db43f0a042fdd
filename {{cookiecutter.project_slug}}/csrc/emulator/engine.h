// Internal to the emulator: the state of the streams, the commands they run,
// and the worker threads that run them. Shared by scheduler.cpp (queues and
// workers), events.cpp, graphs.cpp, memory.cpp and lifetime.cpp.
//
// Locks, in the order they may be taken: the engine mutex (State::mutex),
// then the memory mutex (memory.cpp). Never the other way round.
// Commands are destroyed with the engine mutex released: destroying one
// drops its MemoryHolds (which take the memory mutex, and may free a block)
// and a kernel's closure, whose destructor may call back into the driver.
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

#include "driver/driver.h"
#include "emulator/emulator.h"
#include "emulator/memory.h"

namespace fakedevice::driver {

using Clock = std::chrono::steady_clock;

struct EventState {
  EventState(int device_index, bool timing);
  ~EventState();

  const int device;
  const bool enable_timing;
  // The handle, plus one for each submitted or captured command naming it.
  std::atomic<int> references{1};
  // Records are numbered 1, 2, ...; `completed` is the highest one finished.
  std::atomic<uint64_t> recorded{0};
  std::atomic<uint64_t> completed{0};
  // Guards completed_at, and keeps it in step with `completed`.
  std::atomic_flag stamping = ATOMIC_FLAG_INIT;
  Clock::time_point completed_at{};
};

}  // namespace fakedevice::driver

namespace fakedevice::emulator::engine {

using driver::Clock;
using driver::EventState;
using driver::Stream;

// A counted reference to an event, held by submitted and captured commands.
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

// What a stream runs. In a graph, Record and Wait carry version 0: the version
// is taken when the graph is launched.
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
struct Task {  // a copy, a memset or a kernel: host code run by a worker
  std::function<void()> run;
};
using Action = std::variant<Sleep, Record, Wait, Task>;

struct Command {
  Action action;
  driver::ActivityKind kind;
  std::string name;       // for traces
  std::size_t bytes = 0;  // for traces of copies and memsets
  uint64_t correlation = 0;
  std::vector<MemoryHold> holds;  // the memory the command uses
  // May run on the submitting thread when its stream has nothing queued:
  // copies, memsets and kernels marked short_host_code.
  bool on_caller = false;
};

// The phases of a stream's queue. Only kReady and kRunning need a worker
// thread; a busy period is a deadline and a wait is a condition, so a stream
// that sleeps or waits costs no thread.
enum class Phase { kIdle, kReady, kRunning, kSleeping, kBlocked };

struct StreamQueue {
  explicit StreamQueue(Stream s) : stream(s) {}
  const Stream stream;
  std::deque<Command> pending;
  Phase phase = Phase::kIdle;
  Clock::time_point sleep_until{};  // while kSleeping
  Clock::time_point started_at{};   // of the command at the front, for traces
  uint64_t submitted = 0;
  uint64_t finished = 0;
};
using QueuePtr = std::shared_ptr<StreamQueue>;

struct Graph {
  enum class Phase { kEmpty, kCapturing, kInvalidated, kCaptured, kInstantiated };
  bool keep_graph = false;
  Phase phase = Phase::kEmpty;
  Stream capture_stream{0, 0};
  std::string invalidated_by;  // what refused call ended the capture
  std::vector<Command> commands;
};

struct State {
  std::mutex mutex;
  // Notified whenever a command finishes and at shutdown; everything that
  // waits for progress re-checks its condition.
  std::condition_variable progress;
  // Wakes workers: a queue became ready, a busy period was queued, shutdown.
  std::condition_variable work;
  // Only streams that have work.
  std::unordered_map<uint64_t, QueuePtr> queues;
  std::deque<QueuePtr> ready;      // kReady, in the order they became ready
  std::vector<QueuePtr> sleeping;  // kSleeping
  std::vector<QueuePtr> blocked;   // kBlocked
  // How many queues are not idle, and how many streams are capturing. While
  // both are 0, the fast paths skip the mutex. Changed under the mutex.
  std::atomic<int> busy_queues{0};
  std::atomic<int> capturing_streams{0};
  // The first error work raised on each device, until a synchronize reports it.
  std::string async_errors[kMaxDevices];
  std::atomic<bool> has_async_error{false};
  // Graphs, and which graph each capturing stream records into.
  std::unordered_map<driver::Graph, Graph> graphs;
  std::unordered_map<uint64_t, driver::Graph> capture_of_stream;
  driver::Graph next_graph = 1;
  int workers = 0;
  int idle_workers = 0;
  bool shut_down = false;
};

// Never destroyed: workers may still touch it while the process exits, after
// static destructors have run. A forked child gets a fresh one.
State& state();
void replace_state_in_forked_child();

uint64_t queue_key(Stream stream);

// True while no stream has work queued and none is capturing.
inline bool quiet(const State& s) {
  return s.busy_queues.load(std::memory_order_acquire) == 0 &&
         s.capturing_streams.load(std::memory_order_acquire) == 0;
}

// Fills in the command's trace fields from the submitting thread.
Command make_command(Action action, driver::ActivityKind kind, std::string name);

// Runs `command` on `stream`: queued behind earlier work, stored in a graph if
// the stream is capturing, run on the calling thread at once if it may
// (Command::on_caller) and the stream has nothing queued (the lock is
// released meanwhile), or run
// at once after shutdown. Lock held. Throws
// Failure (and submits nothing) if no worker thread can be started; that can
// only happen to a stream with nothing queued. The lock is released while the
// refused command is destroyed, and held again when Failure is thrown.
void submit(State& s, std::unique_lock<std::mutex>& lock, Stream stream, Command command);

// For the emulator's own bookkeeping (freeing memory once streams are done
// with it): runs `task` at once if the stream is idle, else queues it behind
// the stream's work, even while the stream captures a graph. Lock not held;
// never throws.
void run_after_queued_work(Stream stream, std::function<void()> task) noexcept;

// Marks record `version` of the event finished and lets any stream that waited
// for it go on. Lock held, or the engine quiet.
void complete_record(EventState& event, uint64_t version);
// Lets streams blocked on events that have completed go on. Lock held.
void unblock_waiters(State& s);
bool is_complete(const EventState& event, uint64_t version);

// The graph `stream` is capturing into, or null. Lock held.
Graph* capturing_graph(State& s, Stream stream);
// Refuses (and invalidates the capture) if `stream` is capturing. Lock held.
void refuse_if_capturing(State& s, Stream stream, const char* what);

// Drops what every queue holds, for shutdown. Lock held; the dropped commands
// go to `dropped`, for the caller to destroy with the lock released.
void drop_all_queued_work(State& s, std::vector<Command>& dropped);

// Throws, once, the first error work raised on the device since the last report.
void report_async_error(State& s, int device);

// Activity tracing (activity.cpp): whether it is on, and adding a record.
bool tracing() noexcept;
void trace(const Command& command, Stream stream, Clock::time_point start, Clock::time_point end);

}  // namespace fakedevice::emulator::engine
