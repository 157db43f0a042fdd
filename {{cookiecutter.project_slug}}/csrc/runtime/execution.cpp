// Stream queues, the threads that run them, and events.
//
// A stream gets a queue, and a worker thread, only while it has work; the
// worker lingers briefly after its queue empties so that a burst of small
// submissions reuses it, then exits and the queue is dropped. Queues sit
// behind one mutex. Events are reference-counted objects updated with
// atomics, so that the calls made with nothing queued (recording on an idle
// stream, queries, synchronizes of finished work) never take that mutex:
// they must cost about what PyTorch's own call overhead costs.
#include <cstdlib>
#include <thread>

#include "runtime/describe.h"
#include "runtime/engine.h"

namespace fakedevice::runtime {

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

namespace engine {

namespace {

// How long an idle worker waits for more work before it exits.
constexpr auto kWorkerLinger = std::chrono::milliseconds(200);
// How long shutdown() waits for tasks that are already running.
constexpr auto kShutdownGrace = std::chrono::seconds(5);

void release(EventState* event) noexcept {
  if (event->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    delete event;
  }
}

}  // namespace

EventRef::EventRef(EventState* event) : event_(event) {
  event_->references.fetch_add(1, std::memory_order_relaxed);
}

EventRef::~EventRef() {
  if (event_ != nullptr) {
    release(event_);
  }
}

State& state() {
  static State* instance = new State();
  return *instance;
}

static_assert(kMaxDevices <= 16, "queue_key packs the device into 4 bits");
uint64_t queue_key(Stream stream) {
  return (static_cast<uint64_t>(stream.id) << 4) | static_cast<uint64_t>(stream.device);
}

namespace {

bool idle(const StreamQueue& queue) {
  return queue.pending.empty() && !queue.running;
}

QueuePtr find_queue(State& s, Stream stream) {
  auto it = s.queues.find(queue_key(stream));
  return it == s.queues.end() ? nullptr : it->second;
}

bool is_complete(const EventState& event, uint64_t version) {
  return event.completed.load(std::memory_order_acquire) >= version;
}

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

// Throws the first error a task raised on the device since the last report.
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
    throw Error(message);
  }
}

void run_task(
    State& s, std::unique_lock<std::mutex>& lock, Stream stream, std::function<void()>& task) {
  auto run = std::move(task);
  lock.unlock();
  std::string error;
  try {
    run();
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  run = nullptr;  // whatever the task captured is released without the lock
  lock.lock();
  if (!error.empty() && s.async_errors[stream.device].empty()) {
    s.async_errors[stream.device] =
        "asynchronous error in a task on " + describe_stream(stream) + ": " + error;
    s.has_async_error.store(true, std::memory_order_release);
  }
}

// Runs one command. Called with the lock held; may release it while waiting.
void execute(State& s, std::unique_lock<std::mutex>& lock, StreamQueue& queue, Command& command) {
  if (auto* sleep = std::get_if<Sleep>(&command)) {
    const auto until = Clock::now() + sleep->duration;
    queue.work_ready.wait_until(lock, until, [&] { return s.shut_down; });
  } else if (auto* record = std::get_if<Record>(&command)) {
    complete_record(*record->event.get(), record->version);
  } else if (auto* wait = std::get_if<Wait>(&command)) {
    s.progress.wait(
        lock, [&] { return is_complete(*wait->event.get(), wait->version) || s.shut_down; });
  } else {
    run_task(s, lock, queue.stream, std::get<Task>(command).run);
  }
}

void worker_main(QueuePtr queue) {
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  while (!s.shut_down) {
    if (queue->pending.empty()) {
      const bool more = queue->work_ready.wait_for(
          lock, kWorkerLinger, [&] { return !queue->pending.empty() || s.shut_down; });
      if (!more) {
        break;
      }
      continue;
    }
    Command command = std::move(queue->pending.front());
    queue->pending.pop_front();
    queue->running = true;
    execute(s, lock, *queue, command);
    queue->running = false;
    ++queue->finished;
    if (idle(*queue)) {
      s.busy_queues.fetch_sub(1, std::memory_order_release);
    }
    s.progress.notify_all();
  }
  queue->has_worker = false;
  if (idle(*queue)) {
    s.queues.erase(queue_key(queue->stream));
  }
  --s.workers;
  s.progress.notify_all();
}

// Runs a command on the calling thread, for work submitted after shutdown.
void execute_inline(State& s, std::unique_lock<std::mutex>& lock, Stream stream, Command& command) {
  if (auto* record = std::get_if<Record>(&command)) {
    complete_record(*record->event.get(), record->version);
    s.progress.notify_all();
  } else if (auto* task = std::get_if<Task>(&command)) {
    run_task(s, lock, stream, task->run);
  }
  // A busy period or a wait has nothing left to delay at exit.
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

// Appends `command` to the stream's queue, starting a worker if it has none.
void queue_command(State& s, Stream stream, Command command) {
  QueuePtr& queue = s.queues[queue_key(stream)];
  if (!queue) {
    queue = std::make_shared<StreamQueue>(stream);
  }
  if (idle(*queue)) {
    s.busy_queues.fetch_add(1, std::memory_order_relaxed);
  }
  queue->pending.push_back(std::move(command));
  ++queue->submitted;
  if (queue->has_worker) {
    queue->work_ready.notify_one();
    return;
  }
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { std::atexit([] { shutdown(); }); });
  std::thread(worker_main, queue).detach();
  queue->has_worker = true;
  ++s.workers;
}

}  // namespace

void submit(State& s, std::unique_lock<std::mutex>& lock, Stream stream, Command command) {
  if (Graph* graph = capturing_graph(s, stream)) {
    graph->commands.push_back(std::move(command));
  } else if (s.shut_down) {
    execute_inline(s, lock, stream, command);
  } else {
    queue_command(s, stream, std::move(command));
  }
}

void run_after_queued_work(Stream stream, std::function<void()> task) noexcept {
  State& s = state();
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    const QueuePtr queue = find_queue(s, stream);
    if (queue && !idle(*queue) && !s.shut_down) {
      queue_command(s, stream, Task{std::move(task)});
      return;
    }
  }
  task();
}

}  // namespace engine

using namespace engine;

void sleep(Stream stream, std::chrono::nanoseconds duration) {
  check_stream(stream);
  if (duration.count() < 0) {
    throw Error("a busy period cannot be negative");
  }
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  submit(s, lock, stream, Sleep{std::chrono::duration_cast<Clock::duration>(duration)});
}

void enqueue(Stream stream, std::function<void()> task) {
  check_stream(stream);
  if (!task) {
    throw Error("cannot enqueue an empty task");
  }
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  submit(s, lock, stream, Task{std::move(task)});
}

bool query_stream(Stream stream) {
  check_stream(stream);
  State& s = state();
  if (quiet(s)) {
    return true;
  }
  std::lock_guard<std::mutex> lock(s.mutex);
  check_not_capturing(s, stream, "queried");
  const QueuePtr queue = find_queue(s, stream);
  return !queue || idle(*queue);
}

void synchronize_stream(Stream stream) {
  check_stream(stream);
  State& s = state();
  if (!quiet(s)) {
    std::unique_lock<std::mutex> lock(s.mutex);
    check_not_capturing(s, stream, "synchronized");
    if (QueuePtr queue = find_queue(s, stream)) {
      wait_for_queues(s, lock, {{queue, queue->submitted}});
    }
  }
  report_async_error(s, stream.device);
}

void synchronize_device(int device) {
  check_device(device);
  State& s = state();
  if (!quiet(s)) {
    std::unique_lock<std::mutex> lock(s.mutex);
    for (const auto& [key, graph_id] : s.capture_of_stream) {
      const Stream capturing = s.graphs.at(graph_id).capture_stream;
      if (capturing.device == device) {
        check_not_capturing(s, capturing, "synchronized");
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
}

Event create_event(int device, bool enable_timing) {
  check_device(device);
  return new EventState(device, enable_timing);
}

void destroy_event(Event event) noexcept {
  if (event != nullptr) {
    release(event);  // the handle's reference; queued commands hold their own
  }
}

int event_device(Event event) {
  return event->device;
}

void record_event(Event event, Stream stream) {
  check_stream(stream);
  if (event->device != stream.device) {
    throw Error(
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
    // Recorded when the graph replays, not now.
    submit(s, lock, stream, Record{EventRef(event), 0});
    return;
  }
  const uint64_t version = event->recorded.fetch_add(1) + 1;
  const QueuePtr queue = find_queue(s, stream);
  if (!queue || idle(*queue)) {
    complete_record(*event, version);
    s.progress.notify_all();  // a Wait on an older record may now be satisfied
  } else {
    submit(s, lock, stream, Record{EventRef(event), version});
  }
}

void stream_wait_event(Stream stream, Event event) {
  check_stream(stream);
  State& s = state();
  uint64_t version = event->recorded.load(std::memory_order_acquire);
  if (is_complete(*event, version) && s.capturing_streams.load(std::memory_order_acquire) == 0) {
    return;  // never recorded, or already complete: nothing to wait for
  }
  std::unique_lock<std::mutex> lock(s.mutex);
  if (capturing_graph(s, stream) != nullptr) {
    submit(s, lock, stream, Wait{EventRef(event), 0});  // resolved at replay
    return;
  }
  version = event->recorded.load(std::memory_order_acquire);
  if (!is_complete(*event, version)) {
    submit(s, lock, stream, Wait{EventRef(event), version});
  }
}

bool query_event(Event event) {
  return is_complete(*event, event->recorded.load(std::memory_order_acquire));
}

void synchronize_event(Event event) {
  const uint64_t version = event->recorded.load(std::memory_order_acquire);
  State& s = state();
  if (!is_complete(*event, version)) {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.progress.wait(lock, [&] { return is_complete(*event, version) || s.shut_down; });
  }
  report_async_error(s, event->device);
}

double elapsed_ms(Event start, Event end) {
  if (!start->enable_timing || !end->enable_timing) {
    throw Error("elapsed time needs two events created with timing enabled");
  }
  Clock::time_point stamps[2];
  const Event events[2] = {start, end};
  for (int i = 0; i < 2; ++i) {
    const uint64_t recorded = events[i]->recorded.load(std::memory_order_acquire);
    if (recorded == 0 || !is_complete(*events[i], recorded)) {
      throw Error("elapsed time needs two recorded events that have completed");
    }
    StampGuard guard(*events[i]);
    stamps[i] = events[i]->completed_at;
  }
  return std::chrono::duration<double, std::milli>(stamps[1] - stamps[0]).count();
}

std::size_t live_event_count() noexcept {
  return live_events.load(std::memory_order_relaxed);
}

void shutdown() noexcept {
  State& s = state();
  std::deque<Command> dropped;  // destroyed after the lock is released
  std::unique_lock<std::mutex> lock(s.mutex);
  if (!s.shut_down) {
    s.shut_down = true;
    for (auto& [key, queue] : s.queues) {
      const bool was_busy = !idle(*queue);
      queue->finished += queue->pending.size();
      for (auto& command : queue->pending) {
        dropped.push_back(std::move(command));
      }
      queue->pending.clear();
      if (was_busy && idle(*queue)) {
        s.busy_queues.fetch_sub(1, std::memory_order_release);
      }
      queue->work_ready.notify_all();
    }
    s.progress.notify_all();
  }
  s.progress.wait_for(lock, kShutdownGrace, [&] { return s.workers == 0; });
  lock.unlock();
}

}  // namespace fakedevice::runtime
