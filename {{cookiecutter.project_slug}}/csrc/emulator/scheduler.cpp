// Stream queues and the worker threads that run them.
//
// Each stream with work has a FIFO queue. Only copies, memsets and kernels
// need a thread: a busy period is a deadline and a wait is a condition, which
// the queue's phase records. A bounded pool of workers (max_worker_threads)
// runs the ready queues, one command at a time per queue, so that work on
// different streams overlaps while thousands of streams cost no more threads.
// Workers start when work arrives and leave after a short idle spell; while
// any queue has work, at least one stays, so that a queue a host-side event
// record unblocks always finds a worker.
//
// With no stream busy and none capturing (quiet()), queries and synchronizes
// take no lock: they must cost about what PyTorch's own call overhead costs.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "emulator/engine.h"
#include "emulator/failure.h"
#include "emulator/lifetime.h"

namespace fakedevice::emulator {
namespace engine {
namespace {

// How long an idle worker waits for more work before it leaves.
constexpr auto kWorkerLinger = std::chrono::milliseconds(200);

State* current_state = new State();

void pop_finished(State& s, StreamQueue& queue) {
  queue.pending.pop_front();
  ++queue.finished;
  queue.started_at = Clock::time_point{};
  s.progress.notify_all();
}

void worker_main();

// Starts a worker. Throws Failure if the system refuses a thread.
void spawn_worker(State& s) {
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { std::atexit([] { shutdown(); }); });
  // Work on a default stream needs no stream_create, yet a child forked now
  // would lack this thread (lifetime.cpp).
  mark_used();
  try {
    std::thread(worker_main).detach();
  } catch (const std::system_error& error) {
    fail(
        driver::Status::kInternal,
        std::string("the emulator could not start a worker thread: ") + error.what());
  }
  ++s.workers;
}

// Gets a worker to look at the ready queues and the busy periods: an idle one
// if there is one, else a new one while under the bound. A refused thread is
// no loss while another worker exists (one does while any queue is busy).
void wake_worker(State& s) {
  if (s.idle_workers > 0) {
    s.work.notify_one();
  } else if (s.workers < max_worker_threads()) {
    try {
      spawn_worker(s);
    } catch (const Failure&) {
      if (s.workers == 0) {
        throw;
      }
    }
  }
}

// Moves the queue on past every command at its front that needs no worker,
// then files it by what its front command needs. Returns whether an event
// record completed (which may unblock other streams). Lock held; the queue is
// in no list.
bool advance(State& s, const QueuePtr& queue) {
  bool recorded = false;
  while (!queue->pending.empty()) {
    Command& command = queue->pending.front();
    const Clock::time_point now = Clock::now();
    if (queue->started_at == Clock::time_point{}) {
      queue->started_at = now;
    }
    if (auto* record = std::get_if<Record>(&command.action)) {
      complete_record(*record->event.get(), record->version);
      recorded = true;
    } else if (auto* wait = std::get_if<Wait>(&command.action)) {
      if (!s.shut_down && !is_complete(*wait->event.get(), wait->version)) {
        queue->phase = Phase::kBlocked;
        s.blocked.push_back(queue);
        return recorded;
      }
    } else if (auto* sleep = std::get_if<Sleep>(&command.action)) {
      const Clock::time_point until = queue->started_at + sleep->duration;
      if (!s.shut_down && now < until) {
        queue->phase = Phase::kSleeping;
        queue->sleep_until = until;
        s.sleeping.push_back(queue);
        wake_worker(s);  // a waiting worker may need an earlier wake-up
        return recorded;
      }
    } else {
      queue->phase = Phase::kReady;
      s.ready.push_back(queue);
      wake_worker(s);
      return recorded;
    }
    if (tracing()) {
      trace(command, queue->stream, queue->started_at, now);
    }
    pop_finished(s, *queue);
  }
  queue->phase = Phase::kIdle;
  s.busy_queues.fetch_sub(1, std::memory_order_release);
  s.queues.erase(queue_key(queue->stream));
  return recorded;
}

void advance_and_unblock(State& s, const QueuePtr& queue) {
  if (advance(s, queue) && !s.blocked.empty()) {
    unblock_waiters(s);
  }
}

// Ends the busy periods whose time is up. Lock held.
void wake_sleepers(State& s) {
  const Clock::time_point now = Clock::now();
  for (std::size_t i = 0; i < s.sleeping.size();) {
    QueuePtr queue = s.sleeping[i];
    if (queue->sleep_until <= now || s.shut_down) {
      s.sleeping[i] = std::move(s.sleeping.back());
      s.sleeping.pop_back();
      queue->phase = Phase::kIdle;  // in no list while it advances
      advance_and_unblock(s, queue);
    } else {
      ++i;
    }
  }
}

Clock::time_point earliest_wake_up(const State& s) {
  Clock::time_point earliest = Clock::time_point::max();
  for (const QueuePtr& queue : s.sleeping) {
    earliest = std::min(earliest, queue->sleep_until);
  }
  return earliest;
}

void record_async_error(State& s, Stream stream, const std::string& error) {
  if (s.async_errors[stream.device].empty()) {
    s.async_errors[stream.device] = "asynchronous error in work on " + describe_stream(stream) +
                                    ": " + error.substr(0, error.find('\n'));
    s.has_async_error.store(true, std::memory_order_release);
  }
}

// Runs a task's body, returning what it threw as one line (empty if nothing).
std::string run_body(std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& error) {
    return error.what();
  } catch (...) {
    return "unknown exception";
  }
  return {};
}

// Runs the task at the front of a ready queue. Lock held on entry and exit,
// released while the task runs.
void run_front_task(State& s, std::unique_lock<std::mutex>& lock, const QueuePtr& queue) {
  queue->phase = Phase::kRunning;
  Command command = std::move(queue->pending.front());
  queue->pending.pop_front();
  lock.unlock();
  const Clock::time_point start = Clock::now();
  const std::string error = run_body(std::get<Task>(command.action).run);
  if (tracing()) {
    trace(command, queue->stream, start, Clock::now());
  }
  {
    Command finished = std::move(command);
  }  // destroyed without the lock
  lock.lock();
  if (!error.empty()) {
    record_async_error(s, queue->stream, error);
  }
  ++queue->finished;
  queue->started_at = Clock::time_point{};
  s.progress.notify_all();
  advance_and_unblock(s, queue);
}

void worker_main() {
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  while (!s.shut_down) {
    wake_sleepers(s);
    if (!s.ready.empty()) {
      QueuePtr queue = std::move(s.ready.front());
      s.ready.pop_front();
      run_front_task(s, lock, queue);
      continue;
    }
    ++s.idle_workers;
    bool more = true;
    if (!s.sleeping.empty()) {
      s.work.wait_until(lock, earliest_wake_up(s));
    } else {
      more = s.work.wait_for(lock, kWorkerLinger, [&] {
        return !s.ready.empty() || !s.sleeping.empty() || s.shut_down;
      });
    }
    --s.idle_workers;
    if (!more && (s.workers > 1 || s.busy_queues.load(std::memory_order_relaxed) == 0)) {
      break;
    }
  }
  --s.workers;
  s.progress.notify_all();
}

// Runs a command on the calling thread, for work submitted after shutdown.
void run_inline(State& s, std::unique_lock<std::mutex>& lock, Stream stream, Command& command) {
  if (auto* record = std::get_if<Record>(&command.action)) {
    complete_record(*record->event.get(), record->version);
    s.progress.notify_all();
  } else if (auto* task = std::get_if<Task>(&command.action)) {
    lock.unlock();
    const std::string error = run_body(task->run);
    {
      Command finished = std::move(command);  // destroyed without the lock
    }
    lock.lock();
    if (!error.empty()) {
      record_async_error(s, stream, error);
    }
  }
  // A busy period or a wait has nothing left to delay at exit.
}

// Appends `command` to the stream's queue. A queue that was idle starts
// moving; if it needs a worker and none can start, the command is moved back
// into `taken_back` and Failure thrown, so that nothing waits for work that
// will never run.
//
// Returns true when the submitting thread is to run the command itself: a
// copy, memset or short kernel (Command::on_caller) on a stream with nothing
// queued would start at once on a worker, so it starts at once here instead,
// without the two thread hops (tens of microseconds) a worker costs. Only
// while a worker exists: the queue may take more work meanwhile, and a
// worker must be there for it.
bool queue_command(State& s, Stream stream, Command command, std::optional<Command>& taken_back) {
  QueuePtr& slot = s.queues[queue_key(stream)];
  if (!slot) {
    slot = std::make_shared<StreamQueue>(stream);
  }
  const QueuePtr queue = slot;
  queue->pending.push_back(std::move(command));
  ++queue->submitted;
  if (queue->phase != Phase::kIdle) {
    return false;  // a worker, a deadline or an event will reach it
  }
  s.busy_queues.fetch_add(1, std::memory_order_relaxed);
  if (s.workers > 0 && queue->pending.front().on_caller) {
    queue->phase = Phase::kRunning;  // in no list: no worker takes it
    return true;
  }
  if (s.workers == 0) {
    try {
      spawn_worker(s);
    } catch (const Failure&) {
      taken_back.emplace(std::move(queue->pending.back()));
      queue->pending.pop_back();
      --queue->submitted;
      s.busy_queues.fetch_sub(1, std::memory_order_relaxed);
      s.queues.erase(queue_key(stream));
      throw;
    }
  }
  advance_and_unblock(s, queue);
  return false;
}

QueuePtr find_queue(State& s, Stream stream) {
  auto it = s.queues.find(queue_key(stream));
  return it == s.queues.end() ? nullptr : it->second;
}

bool idle(const QueuePtr& queue) {
  return !queue || queue->phase == Phase::kIdle;
}

// Blocks until every (queue, target) pair has finished `target` commands.
void wait_for_queues(
    State& s,
    std::unique_lock<std::mutex>& lock,
    const std::vector<std::pair<QueuePtr, uint64_t>>& targets) {
  s.progress.wait(lock, [&] {
    if (s.shut_down) {
      return true;
    }
    for (const auto& [queue, target] : targets) {
      if (queue->finished < target) {
        return false;
      }
    }
    return true;
  });
}

}  // namespace

State& state() {
  return *current_state;
}

// The old state may be locked by a thread that does not exist in the child;
// it is left alone, never destroyed.
void replace_state_in_forked_child() {
  current_state = new State();
}

static_assert(kMaxDevices <= 16, "queue_key keeps default streams apart in 4 bits");
uint64_t queue_key(Stream stream) {
  // Other streams' ids already carry their device (devices.cpp) and are >= 16.
  return stream.id == driver::kDefaultStreamId ? static_cast<uint64_t>(stream.device)
                                               : static_cast<uint64_t>(stream.id);
}

void submit(State& s, std::unique_lock<std::mutex>& lock, Stream stream, Command command) {
  if (Graph* graph = capturing_graph(s, stream)) {
    // Kept even once the capture is invalidated: ending, resetting or
    // destroying the graph destroys its commands with the lock released.
    graph->commands.push_back(std::move(command));
  } else if (s.shut_down) {
    run_inline(s, lock, stream, command);
  } else {
    std::optional<Command> taken_back;
    bool run_here = false;
    try {
      run_here = queue_command(s, stream, std::move(command), taken_back);
    } catch (const Failure&) {
      // Destroyed with the lock released (see engine.h), then the lock is
      // taken again: the caller still holds it when the Failure reaches it.
      lock.unlock();
      taken_back.reset();
      lock.lock();
      throw;
    }
    if (run_here) {
      run_front_task(s, lock, find_queue(s, stream));
    }
  }
}

void run_after_queued_work(Stream stream, std::function<void()> task) noexcept {
  State& s = state();
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    const QueuePtr queue = find_queue(s, stream);
    if (!idle(queue) && !s.shut_down) {
      // A busy queue needs no new worker, so this cannot fail.
      queue->pending.push_back(Command{Task{std::move(task)}, driver::ActivityKind::kKernel, {}});
      ++queue->submitted;
      return;
    }
  }
  task();
}

void unblock_waiters(State& s) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::size_t i = 0; i < s.blocked.size();) {
      QueuePtr queue = s.blocked[i];
      const auto& wait = std::get<Wait>(queue->pending.front().action);
      if (!s.shut_down && !is_complete(*wait.event.get(), wait.version)) {
        ++i;
        continue;
      }
      s.blocked[i] = std::move(s.blocked.back());
      s.blocked.pop_back();
      if (tracing()) {
        trace(queue->pending.front(), queue->stream, queue->started_at, Clock::now());
      }
      pop_finished(s, *queue);
      queue->phase = Phase::kIdle;  // in no list while it advances
      advance(s, queue);
      changed = true;
    }
  }
}

void report_async_error(State& s, int device) {
  if (!s.has_async_error.load(std::memory_order_acquire)) {
    return;
  }
  std::lock_guard<std::mutex> lock(s.mutex);
  std::string message = std::move(s.async_errors[device]);
  s.async_errors[device].clear();
  bool any_left = false;
  for (const std::string& error : s.async_errors) {
    any_left = any_left || !error.empty();
  }
  s.has_async_error.store(any_left, std::memory_order_release);
  if (!message.empty()) {
    fail(driver::Status::kAsynchronousFailure, message);
  }
}

// Used by shutdown (lifetime.cpp): drops what every queue holds. Lock held;
// the dropped commands go to `dropped`, for the caller to destroy unlocked.
void drop_all_queued_work(State& s, std::vector<Command>& dropped) {
  for (auto& [key, queue] : s.queues) {
    queue->finished += queue->pending.size();
    for (Command& command : queue->pending) {
      dropped.push_back(std::move(command));
    }
    queue->pending.clear();
    if (queue->phase != Phase::kIdle && queue->phase != Phase::kRunning) {
      queue->phase = Phase::kIdle;
      s.busy_queues.fetch_sub(1, std::memory_order_release);
    }
  }
  s.ready.clear();
  s.sleeping.clear();
  s.blocked.clear();
}

int worker_count(State& s) {
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.workers;
}

}  // namespace engine

using namespace engine;

driver::Status queue_fault(driver::Stream stream, std::string message) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    State& s = state();
    std::unique_lock<std::mutex> lock(s.mutex);
    submit(
        s,
        lock,
        stream,
        make_command(
            Task{[message = std::move(message)] { throw std::runtime_error(message); }},
            driver::ActivityKind::kKernel,
            "fault"));
  });
}

int max_worker_threads() noexcept {
  const unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cores, 2u, 8u));
}

int worker_thread_count() noexcept {
  return engine::worker_count(state());
}

}  // namespace fakedevice::emulator

namespace fakedevice::driver {

using namespace emulator;
using namespace emulator::engine;

// A busy period needs no thread: the stream's queue holds a deadline.
Status launch_sleep_kernel(Stream stream, int64_t nanoseconds) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    if (nanoseconds < 0) {
      fail(Status::kInvalidValue, "a busy period cannot be negative");
    }
    State& s = state();
    std::unique_lock<std::mutex> lock(s.mutex);
    submit(
        s,
        lock,
        stream,
        make_command(
            Sleep{
                std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(nanoseconds))},
            ActivityKind::kSleep,
            "sleep"));
  });
}

Status stream_query(Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    State& s = state();
    if (quiet(s)) {
      return Status::kSuccess;
    }
    std::lock_guard<std::mutex> lock(s.mutex);
    refuse_if_capturing(s, stream, "queried");
    return idle(find_queue(s, stream)) ? Status::kSuccess : Status::kNotReady;
  });
}

Status stream_synchronize(Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    State& s = state();
    if (!quiet(s)) {
      std::unique_lock<std::mutex> lock(s.mutex);
      refuse_if_capturing(s, stream, "synchronized");
      if (QueuePtr queue = find_queue(s, stream)) {
        wait_for_queues(s, lock, {{queue, queue->submitted}});
      }
    }
    report_async_error(s, stream.device);
  });
}

Status device_synchronize(int device) {
  return translate([&] {
    check_usable();
    check_device(device);
    State& s = state();
    if (!quiet(s)) {
      std::unique_lock<std::mutex> lock(s.mutex);
      std::vector<Stream> capturing;
      for (const auto& [key, graph_id] : s.capture_of_stream) {
        capturing.push_back(s.graphs.at(graph_id).capture_stream);
      }
      for (const Stream& stream : capturing) {
        if (stream.device == device) {
          refuse_if_capturing(s, stream, "synchronized (by a device synchronize)");
        }
      }
      std::vector<std::pair<QueuePtr, uint64_t>> targets;
      for (const auto& [key, queue] : s.queues) {
        if (queue->stream.device == device) {
          targets.emplace_back(queue, queue->submitted);
        }
      }
      wait_for_queues(s, lock, targets);
    }
    report_async_error(s, device);
  });
}

}  // namespace fakedevice::driver
