// Tests of the emulated device through the driver API (driver/driver.h) and
// the emulator's own calls (emulator/emulator.h), without torch or Python.
// tests/test_emulator.py builds them from the emulator's sources and runs
// them twice: plainly, and under ThreadSanitizer.
//
// Each test is a function; main() runs them in order and prints one line per
// test, then "N failure(s)". Timing checks are lower bounds (work cannot
// finish early) or upper bounds with generous slack (a loaded machine).
// Where a check needs work to be still pending, a Gate holds it back instead
// of a race against the clock.
#include <dirent.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "device_config.h"
#include "driver/driver.h"
#include "emulator/emulator.h"
#include "emulator/memory.h"

namespace drv = fakedevice::driver;
namespace emu = fakedevice::emulator;
using drv::Status;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kDevices = fakedevice::config::kDeviceCount;

int failures = 0;
std::mutex failures_mutex;  // EXPECT is used from several threads

void report_failure(const char* file, int line, const std::string& what) {
  std::lock_guard<std::mutex> lock(failures_mutex);
  std::fprintf(stderr, "%s:%d: %s\n", file, line, what.c_str());
  ++failures;
}

#define EXPECT(condition)                                                        \
  do {                                                                           \
    if (!(condition)) {                                                          \
      report_failure(__FILE__, __LINE__, std::string("expected ") + #condition); \
    }                                                                            \
  } while (0)

// The call returns kSuccess.
#define EXPECT_OK(call) expect_status((call), Status::kSuccess, "", #call, __FILE__, __LINE__)
// The call returns `status` and last_error_message() contains `text`.
#define EXPECT_FAIL(call, status, text) \
  expect_status((call), (status), (text), #call, __FILE__, __LINE__)

bool expect_status(
    Status got,
    Status want,
    const std::string& text,
    const char* call,
    const char* file,
    int line) {
  const std::string message = got == Status::kSuccess ? "" : drv::last_error_message();
  if (got != want) {
    report_failure(
        file,
        line,
        std::string(call) + " returned " + drv::status_name(got) + ", expected " +
            drv::status_name(want) + (message.empty() ? "" : " (message: " + message + ")"));
    return false;
  }
  if (message.find(text) == std::string::npos) {
    report_failure(
        file, line, std::string(call) + ": message '" + message + "' lacks '" + text + "'");
    return false;
  }
  return true;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

drv::Stream new_stream(int device) {
  drv::Stream stream{-1, -1};
  EXPECT_OK(drv::stream_create(device, &stream));
  return stream;
}

drv::Stream default_stream(int device) {
  return drv::Stream{device, drv::kDefaultStreamId};
}

drv::Event new_event(int device, bool timing) {
  drv::Event event = nullptr;
  EXPECT_OK(
      drv::event_create(device, timing ? drv::kEventDefault : drv::kEventDisableTiming, &event));
  return event;
}

Status launch(drv::Stream stream, std::function<void()> run, std::vector<const void*> uses = {}) {
  return drv::launch_kernel(drv::Kernel{"test kernel", std::move(run), std::move(uses)}, stream);
}

Status sleep_for(drv::Stream stream, std::chrono::nanoseconds duration) {
  return drv::launch_sleep_kernel(
      stream, std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count());
}

bool idle(drv::Stream stream) {
  const Status status = drv::stream_query(stream);
  EXPECT(status == Status::kSuccess || status == Status::kNotReady);
  return status == Status::kSuccess;
}

std::size_t allocated_bytes(int device) {
  drv::MemoryInfo info;
  EXPECT_OK(drv::mem_get_info(device, &info));
  return info.total - info.free;
}

// Holds kernels back until opened, so that work is known to be pending. A
// gate that nobody opens opens itself after a while, so that a failing test
// fails instead of hanging.
class Gate {
 public:
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_for(lock, 20s, [&] { return open_; })) {
      report_failure(__FILE__, __LINE__, "a gate was never opened");
      open_ = true;
    }
  }
  void open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // A kernel that waits for the gate.
  std::function<void()> kernel() {
    return [this] { wait(); };
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Threads of this process (/proc/self/task), for the bounds on worker threads.
int process_thread_count() {
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) {
    return -1;
  }
  int count = 0;
  while (const dirent* entry = readdir(tasks)) {
    count += entry->d_name[0] != '.' ? 1 : 0;
  }
  closedir(tasks);
  return count;
}

// Waits up to `limit` for `condition`; returns whether it became true.
bool eventually(const std::function<bool()>& condition, Clock::duration limit = 30s) {
  const auto deadline = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Runs `child` in a forked process and returns its exit status (-1 if it
// hung past the limit and was killed, -2 if it died of a signal).
int in_forked_child(const std::function<int()>& child, Clock::duration limit = 60s) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = child();
    } catch (...) {
    }
    std::fflush(nullptr);
    _exit(code);
  }
  const auto deadline = Clock::now() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(5ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

// Calls the driver when the last copy of a kernel's closure goes, as a
// closure's destructor may (emulator/engine.h): the emulator must destroy
// commands with its mutex released, or this deadlocks.
struct CallsTheDriverWhenDestroyed {
  drv::Stream stream;
  std::atomic<int>* destroyed;
  ~CallsTheDriverWhenDestroyed() {
    bool capturing = false;
    drv::stream_is_capturing(stream, &capturing);  // always takes the engine's mutex
    ++*destroyed;
  }
};

std::function<void()> kernel_calling_the_driver_when_destroyed(
    drv::Stream stream, std::atomic<int>* destroyed) {
  auto probe = std::make_shared<CallsTheDriverWhenDestroyed>();
  probe->stream = stream;
  probe->destroyed = destroyed;
  return [probe] {};
}

// Ends the process, naming the test, if one test runs for longer than this:
// a deadlock then fails the run instead of hanging it.
constexpr auto kTestTimeLimit = 120s;
std::atomic<const char*> running_test{nullptr};
std::atomic<int64_t> running_since_ns{0};

void start_watchdog() {
  std::thread([] {
    for (;;) {
      std::this_thread::sleep_for(100ms);
      const char* name = running_test.load();
      const auto since = Clock::time_point(Clock::duration(running_since_ns.load()));
      if (name != nullptr && Clock::now() - since > kTestTimeLimit) {
        std::fprintf(
            stderr,
            "FAIL %s: still running after %lld s (a deadlock?)\n",
            name,
            static_cast<long long>(kTestTimeLimit.count()));
        std::fflush(nullptr);
        std::_Exit(3);
      }
    }
  }).detach();
}

// ---- Must run first: before anything uses the device.

void a_child_forked_before_any_use_works() {
  const int code = in_forked_child([] {
    drv::Stream stream{};
    if (drv::stream_create(0, &stream) != Status::kSuccess) {
      return 1;
    }
    std::atomic<int> ran{0};
    if (launch(stream, [&] { ++ran; }) != Status::kSuccess ||
        drv::stream_synchronize(stream) != Status::kSuccess) {
      return 2;
    }
    return ran == 1 ? 0 : 3;
  });
  EXPECT(code == 0);
}

// Work on a default stream (which needs no stream_create) counts as use too:
// a child forked after it refuses the device instead of waiting for the
// parent's worker threads.
void a_child_forked_after_work_on_a_default_stream_refuses_the_device() {
  const int code = in_forked_child([] {
    std::atomic<int> ran{0};
    if (launch(default_stream(0), [&] { ++ran; }) != Status::kSuccess ||
        sleep_for(default_stream(0), 1ms) != Status::kSuccess ||
        drv::stream_synchronize(default_stream(0)) != Status::kSuccess || ran != 1) {
      return 1;
    }
    const int grandchild = in_forked_child(
        [] {
          const Status launched = launch(default_stream(0), [] {});
          const Status synchronized = drv::stream_synchronize(default_stream(0));
          return launched == Status::kUnavailableAfterFork &&
                         synchronized == Status::kUnavailableAfterFork
                     ? 0
                     : 1;
        },
        30s);
    return grandchild == 0 ? 0 : 10 + grandchild;
  });
  EXPECT(code == 0);
}

// ---- Ordering, execution, busy periods.

void work_runs_in_order_off_the_calling_thread() {
  const drv::Stream stream = new_stream(0);
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 100; ++i) {
    EXPECT_OK(launch(stream, [&, i] {
      std::lock_guard<std::mutex> lock(mutex);
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    }));
  }
  EXPECT_OK(drv::stream_synchronize(stream));
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) {
    expected[i] = i;
  }
  EXPECT(order == expected);
  EXPECT(std::none_of(threads.begin(), threads.end(), [](std::thread::id id) {
    return id == std::this_thread::get_id();
  }));
}

void default_streams_of_each_device_run_work_in_order() {
  for (int device = 0; device < kDevices; ++device) {
    std::vector<int> order;  // the stream's work runs one kernel at a time
    for (int i = 0; i < 20; ++i) {
      EXPECT_OK(launch(default_stream(device), [&order, i] { order.push_back(i); }));
    }
    EXPECT_OK(drv::stream_synchronize(default_stream(device)));
    EXPECT(order.size() == 20 && std::is_sorted(order.begin(), order.end()));
  }
}

void query_and_synchronize_follow_pending_work() {
  const drv::Stream stream = new_stream(0);
  EXPECT(idle(stream));
  Gate gate;
  EXPECT_OK(launch(stream, gate.kernel()));
  EXPECT(!idle(stream));
  gate.open();
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(idle(stream));

  const auto start = Clock::now();
  EXPECT_OK(sleep_for(stream, 500ms));
  EXPECT(ms_since(start) < 350);  // sleep() only queues the busy period
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(ms_since(start) >= 500);
  EXPECT(idle(stream));
}

void busy_periods_on_one_stream_add_up_and_streams_overlap() {
  const drv::Stream one = new_stream(0);
  auto start = Clock::now();
  EXPECT_OK(sleep_for(one, 40ms));
  EXPECT_OK(sleep_for(one, 40ms));
  EXPECT_OK(drv::stream_synchronize(one));
  EXPECT(ms_since(start) >= 80);

  // A busy period holds no worker thread: many more streams than workers
  // sleep at once. One after another they would take 12.8 s, a worker each
  // 200 ms per max_worker_threads() streams.
  constexpr int kStreams = 64;
  std::vector<drv::Stream> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(new_stream(0));
  }
  start = Clock::now();
  for (const drv::Stream& stream : streams) {
    EXPECT_OK(sleep_for(stream, 200ms));
  }
  EXPECT_OK(drv::device_synchronize(0));
  const double elapsed = ms_since(start);
  EXPECT(elapsed >= 200);
  EXPECT(elapsed < 200 + 900);
  EXPECT(std::all_of(streams.begin(), streams.end(), idle));
}

void device_synchronize_waits_for_every_stream_of_the_device_and_no_other() {
  const drv::Stream a = new_stream(0);
  const drv::Stream b = new_stream(0);
  EXPECT_OK(sleep_for(a, 30ms));
  EXPECT_OK(sleep_for(b, 70ms));
  EXPECT_OK(sleep_for(default_stream(0), 50ms));
  const auto start = Clock::now();
  EXPECT_OK(drv::device_synchronize(0));
  EXPECT(ms_since(start) >= 60);
  EXPECT(idle(a) && idle(b) && idle(default_stream(0)));
  if (kDevices < 2) {
    return;
  }
  Gate gate;
  const drv::Stream other = new_stream(1);
  EXPECT_OK(launch(other, gate.kernel()));
  EXPECT_OK(drv::device_synchronize(0));  // does not wait for device 1 (would hang 20 s)
  EXPECT(!idle(other));
  gate.open();
  EXPECT_OK(drv::device_synchronize(1));
  EXPECT(idle(other));
}

// ---- Events.

void events_complete_when_the_stream_reaches_them() {
  const drv::Stream stream = new_stream(0);
  const drv::Event start = new_event(0, true);
  const drv::Event end = new_event(0, true);
  EXPECT_OK(drv::event_query(start));  // never recorded: complete
  EXPECT_OK(drv::event_record(start, stream));
  EXPECT_OK(drv::event_query(start));  // nothing queued ahead of it
  Gate gate;
  EXPECT_OK(launch(stream, gate.kernel()));
  EXPECT_OK(sleep_for(stream, 60ms));
  EXPECT_OK(drv::event_record(end, stream));
  EXPECT(drv::event_query(end) == Status::kNotReady);
  double elapsed = -1;
  EXPECT_FAIL(drv::event_elapsed_time(start, end, &elapsed), Status::kNotReady, "completed");
  gate.open();
  EXPECT_OK(drv::event_synchronize(end));
  EXPECT_OK(drv::event_query(end));
  EXPECT_OK(drv::event_elapsed_time(start, end, &elapsed));
  EXPECT(elapsed >= 60 && elapsed < 10000);
  EXPECT_OK(drv::event_elapsed_time(end, end, &elapsed));
  EXPECT(elapsed == 0);
  EXPECT_OK(drv::event_destroy(start));
  EXPECT_OK(drv::event_destroy(end));
}

void rerecording_an_event_moves_it() {
  const drv::Stream stream = new_stream(0);
  const drv::Event event = new_event(0, false);
  EXPECT_OK(drv::event_record(event, stream));
  EXPECT_OK(drv::event_query(event));
  Gate gate;
  EXPECT_OK(launch(stream, gate.kernel()));
  EXPECT_OK(drv::event_record(event, stream));
  EXPECT(drv::event_query(event) == Status::kNotReady);  // the latest record counts
  gate.open();
  EXPECT_OK(drv::event_synchronize(event));
  EXPECT_OK(drv::event_query(event));
  EXPECT_OK(drv::event_destroy(event));
}

void waiting_on_an_event_holds_back_later_work() {
  const drv::Stream producer = new_stream(0);
  const drv::Stream consumer = new_stream(kDevices - 1);
  const drv::Event ready = new_event(0, false);
  Gate gate;
  std::atomic<int> step{0};
  std::atomic<int> produced_at{-1};
  std::atomic<int> consumed_at{-1};
  EXPECT_OK(launch(producer, gate.kernel()));
  EXPECT_OK(launch(producer, [&] { produced_at = step++; }));
  EXPECT_OK(drv::event_record(ready, producer));
  EXPECT_OK(drv::stream_wait_event(consumer, ready));
  EXPECT_OK(launch(consumer, [&] { consumed_at = step++; }));
  EXPECT(!idle(consumer));
  EXPECT(consumed_at == -1);
  gate.open();
  EXPECT_OK(drv::stream_synchronize(consumer));
  EXPECT(produced_at == 0 && consumed_at == 1);
  // Waiting on a complete or never-recorded event queues nothing.
  const drv::Event never_recorded = new_event(0, false);
  EXPECT_OK(drv::stream_wait_event(consumer, never_recorded));
  EXPECT_OK(drv::stream_wait_event(consumer, ready));
  EXPECT(idle(consumer));
  EXPECT_OK(drv::event_destroy(ready));
  EXPECT_OK(drv::event_destroy(never_recorded));
}

void a_stream_waits_for_a_record_made_from_a_destroyed_event() {
  const drv::Stream producer = new_stream(0);
  const drv::Stream consumer = new_stream(0);
  const drv::Event event = new_event(0, false);
  Gate gate;
  std::atomic<bool> produced{false};
  std::atomic<bool> consumed_after{false};
  EXPECT_OK(launch(producer, gate.kernel()));
  EXPECT_OK(launch(producer, [&] { produced = true; }));
  EXPECT_OK(drv::event_record(event, producer));
  EXPECT_OK(drv::stream_wait_event(consumer, event));
  EXPECT_OK(drv::event_destroy(event));  // queued work still names it
  EXPECT_OK(launch(consumer, [&] { consumed_after = produced.load(); }));
  gate.open();
  EXPECT_OK(drv::stream_synchronize(consumer));
  EXPECT(consumed_after);
}

void destroyed_events_are_freed_once_queued_work_is_done() {
  const std::size_t before = emu::live_event_count();
  const drv::Stream stream = new_stream(0);
  Gate gate;
  EXPECT_OK(launch(stream, gate.kernel()));
  for (int i = 0; i < 1000; ++i) {
    const drv::Event event = new_event(0, i % 2 == 0);
    EXPECT_OK(drv::event_record(event, stream));
    EXPECT_OK(drv::event_destroy(event));
  }
  // Queued records keep their events' memory until the stream reaches them.
  EXPECT(emu::live_event_count() == before + 1000);
  gate.open();
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(emu::live_event_count() == before);
  EXPECT_OK(drv::event_destroy(nullptr));  // ignored
}

// ---- Errors.

void errors_raised_by_work_are_reported_once_in_one_line() {
  const drv::Stream stream = new_stream(0);
  EXPECT_OK(launch(stream, [] {
    throw std::runtime_error("kernel fault\nframe #0: somewhere\nframe #1: elsewhere");
  }));
  EXPECT_OK(launch(stream, [] { throw std::runtime_error("a second fault"); }));
  const Status status = drv::stream_synchronize(stream);
  const std::string message = drv::last_error_message();
  EXPECT(status == Status::kAsynchronousFailure);
  EXPECT(message.find("kernel fault") != std::string::npos);
  EXPECT(message.find("stream " + std::to_string(stream.id) + " on ") != std::string::npos);
  EXPECT(message.find('\n') == std::string::npos);
  EXPECT(message.find("frame") == std::string::npos);
  EXPECT(message.find("second") == std::string::npos);  // the first error only
  // Reported once.
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT_OK(drv::device_synchronize(0));

  // A device synchronize and an event synchronize report it too, and only for
  // the device whose work failed.
  EXPECT_OK(launch(stream, [] { throw 42; }));
  const int other = kDevices - 1;
  if (other != 0) {
    EXPECT_OK(drv::stream_synchronize(new_stream(other)));
    EXPECT_OK(drv::device_synchronize(other));
  }
  EXPECT_FAIL(drv::device_synchronize(0), Status::kAsynchronousFailure, "unknown exception");
  EXPECT_OK(drv::device_synchronize(0));
  const drv::Event event = new_event(0, false);
  EXPECT_OK(launch(stream, [] { throw std::logic_error("broken"); }));
  EXPECT_OK(drv::event_record(event, stream));
  EXPECT_FAIL(drv::event_synchronize(event), Status::kAsynchronousFailure, "broken");
  EXPECT_OK(drv::event_synchronize(event));
  EXPECT_OK(drv::event_destroy(event));
  // Later work still runs.
  std::atomic<bool> ran{false};
  EXPECT_OK(launch(stream, [&] { ran = true; }));
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(ran);
}

void bad_arguments_are_refused() {
  EXPECT_FAIL(drv::set_device(-1), Status::kInvalidDevice, "device index -1 is out of range");
  EXPECT_FAIL(drv::set_device(kDevices + 3), Status::kInvalidDevice, std::to_string(kDevices + 3));
  int device = -1;
  EXPECT_OK(drv::get_device(&device));
  EXPECT(device == 0);  // a refused set changes nothing
  drv::Stream stream{};
  EXPECT_FAIL(drv::stream_create(kDevices, &stream), Status::kInvalidDevice, "out of range");
  EXPECT_FAIL(
      drv::stream_check({0, 1'000'000'000}), Status::kInvalidHandle, "unknown stream 1000000000");
  EXPECT_FAIL(drv::stream_check({0, -16}), Status::kInvalidHandle, "unknown stream -16");
  EXPECT_FAIL(drv::stream_query({-1, 0}), Status::kInvalidDevice, "-1");
  EXPECT_FAIL(drv::stream_query({kDevices, 0}), Status::kInvalidDevice, "out of range");
  EXPECT_FAIL(sleep_for(new_stream(0), -1ms), Status::kInvalidValue, "negative");
  EXPECT_FAIL(launch(new_stream(0), nullptr), Status::kInvalidValue, "no body");
  int on_stack = 0;
  EXPECT_FAIL(launch(new_stream(0), [] {}, {&on_stack}), Status::kInvalidValue, "in no block");
  drv::Event event = nullptr;
  EXPECT_FAIL(drv::event_create(0, 7, &event), Status::kInvalidValue, "unknown event flags");
  EXPECT_FAIL(drv::event_create(kDevices, 0, &event), Status::kInvalidDevice, "out of range");
  EXPECT_FAIL(drv::event_record(nullptr, new_stream(0)), Status::kInvalidHandle, "null event");
  EXPECT_FAIL(drv::event_query(nullptr), Status::kInvalidHandle, "null event");
  const drv::Event untimed = new_event(0, false);
  const drv::Event timed = new_event(0, true);
  EXPECT_OK(drv::event_record(untimed, default_stream(0)));
  EXPECT_OK(drv::event_record(timed, default_stream(0)));
  double elapsed = 0;
  EXPECT_FAIL(drv::event_elapsed_time(timed, untimed, &elapsed), Status::kInvalidHandle, "timing");
  const drv::Event never_recorded = new_event(0, true);
  EXPECT_FAIL(
      drv::event_elapsed_time(timed, never_recorded, &elapsed), Status::kNotReady, "recorded");
  if (kDevices > 1) {
    EXPECT_FAIL(
        drv::event_record(timed, new_stream(1)), Status::kInvalidValue, "cannot be recorded");
  }
  drv::DeviceProperties properties;
  EXPECT_FAIL(
      drv::get_device_properties(kDevices, &properties), Status::kInvalidDevice, "out of range");
  EXPECT_OK(drv::get_device_properties(0, &properties));
  EXPECT(properties.name == fakedevice::config::kDeviceName);
  EXPECT(properties.total_memory > 0);
  EXPECT(std::string(drv::status_name(Status::kCaptureInvalidated)) == "kCaptureInvalidated");
  EXPECT_OK(drv::event_destroy(untimed));
  EXPECT_OK(drv::event_destroy(timed));
  EXPECT_OK(drv::event_destroy(never_recorded));
}

// Stream ids carry their device: an id made on one device is not a stream of
// another.
void stream_ids_are_tied_to_their_device() {
  const drv::Stream made_on_0 = new_stream(0);
  EXPECT_OK(drv::stream_check(made_on_0));
  EXPECT(made_on_0.id != drv::kDefaultStreamId);
  if (kDevices < 2) {
    return;
  }
  const drv::Stream made_on_1 = new_stream(1);
  EXPECT(made_on_1.id != made_on_0.id);
  const drv::Stream moved{1, made_on_0.id};
  EXPECT_FAIL(drv::stream_check(moved), Status::kInvalidHandle, "belongs to");
  EXPECT_FAIL(drv::stream_query(moved), Status::kInvalidHandle, "not to");
  EXPECT_FAIL(drv::stream_synchronize(moved), Status::kInvalidHandle, "belongs to");
  EXPECT_FAIL(sleep_for(moved, 1ms), Status::kInvalidHandle, "belongs to");
  std::atomic<bool> ran{false};
  EXPECT_FAIL(launch(moved, [&] { ran = true; }), Status::kInvalidHandle, "belongs to");
  const drv::Event event = new_event(1, false);
  EXPECT_FAIL(drv::event_record(event, moved), Status::kInvalidHandle, "belongs to");
  EXPECT_FAIL(drv::stream_wait_event(moved, event), Status::kInvalidHandle, "belongs to");
  EXPECT_FAIL(drv::stream_check({0, made_on_1.id}), Status::kInvalidHandle, "belongs to");
  EXPECT_OK(drv::device_synchronize(1));
  EXPECT(!ran);
  EXPECT_OK(drv::event_destroy(event));
}

void current_device_is_per_thread() {
  const int last = kDevices - 1;
  EXPECT_OK(drv::set_device(last));
  int seen_device = -1;
  std::thread([&] { drv::get_device(&seen_device); }).join();
  EXPECT(seen_device == 0);
  int device = -1;
  EXPECT_OK(drv::get_device(&device));
  EXPECT(device == last);
  EXPECT_OK(drv::set_device(0));
}

// ---- Graphs.

void graphs_capture_work_and_replay_it() {
  const drv::Stream stream = new_stream(0);
  drv::Graph graph = 0;
  EXPECT_OK(drv::graph_create(false, &graph));
  std::atomic<int> runs{0};
  const drv::Event done = new_event(0, true);
  bool capturing = true;
  EXPECT_OK(drv::stream_is_capturing(stream, &capturing));
  EXPECT(!capturing);
  EXPECT_OK(drv::graph_begin_capture(graph, stream));
  EXPECT_OK(drv::stream_is_capturing(stream, &capturing));
  EXPECT(capturing);
  EXPECT_OK(drv::stream_is_capturing(new_stream(0), &capturing));
  EXPECT(!capturing);
  EXPECT_OK(sleep_for(stream, 30ms));
  EXPECT_OK(launch(stream, [&] { ++runs; }));
  EXPECT_OK(drv::event_record(done, stream));
  EXPECT_OK(drv::graph_end_capture(graph));
  EXPECT_OK(drv::stream_is_capturing(stream, &capturing));
  EXPECT(!capturing);
  EXPECT(idle(stream));  // captured, not queued
  EXPECT(runs == 0);
  const drv::Stream replay_on = new_stream(0);
  for (int replay = 1; replay <= 2; ++replay) {
    const auto start = Clock::now();
    EXPECT_OK(drv::graph_launch(graph, replay_on));
    EXPECT_OK(drv::event_synchronize(done));
    EXPECT(ms_since(start) >= 30);
    EXPECT(runs == replay);
  }
  Gate gate;
  EXPECT_OK(launch(replay_on, gate.kernel()));
  EXPECT_OK(drv::graph_launch(graph, replay_on));
  EXPECT(drv::event_query(done) == Status::kNotReady);  // the replay records it anew
  gate.open();
  EXPECT_OK(drv::stream_synchronize(replay_on));
  EXPECT(runs == 3);
  EXPECT_OK(drv::graph_reset(graph));
  EXPECT_FAIL(drv::graph_launch(graph, replay_on), Status::kIllegalState, "no finished capture");
  EXPECT_OK(drv::graph_destroy(graph));
  EXPECT_FAIL(drv::graph_launch(graph, replay_on), Status::kInvalidHandle, "unknown graph");
  EXPECT_OK(drv::graph_destroy(graph));  // ignored
  EXPECT_OK(drv::event_destroy(done));
}

void kept_graphs_need_instantiating() {
  const drv::Stream stream = new_stream(0);
  drv::Graph graph = 0;
  drv::Graph other = 0;
  EXPECT_OK(drv::graph_create(true, &graph));
  EXPECT_OK(drv::graph_create(false, &other));
  EXPECT_FAIL(drv::graph_end_capture(graph), Status::kIllegalState, "is not capturing");
  EXPECT_FAIL(drv::graph_instantiate(graph), Status::kIllegalState, "before its capture");
  EXPECT_OK(drv::graph_begin_capture(graph, stream));
  EXPECT_FAIL(drv::graph_begin_capture(other, stream), Status::kIllegalState, "already capturing");
  EXPECT_FAIL(drv::graph_launch(other, stream), Status::kIllegalState, "no finished capture");
  EXPECT_OK(sleep_for(stream, 1ms));
  EXPECT_OK(drv::graph_end_capture(graph));
  EXPECT_FAIL(drv::graph_begin_capture(graph, stream), Status::kIllegalState, "already holds");
  EXPECT_FAIL(drv::graph_launch(graph, stream), Status::kIllegalState, "instantiate it first");
  EXPECT_OK(drv::graph_instantiate(graph));
  EXPECT_OK(drv::graph_launch(graph, stream));
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT_OK(drv::graph_destroy(graph));
  EXPECT_OK(drv::graph_destroy(other));
}

void a_graph_cannot_be_replayed_into_a_capturing_stream() {
  const drv::Stream stream = new_stream(0);
  drv::Graph inner = 0;
  drv::Graph outer = 0;
  EXPECT_OK(drv::graph_create(false, &inner));
  EXPECT_OK(drv::graph_create(false, &outer));
  EXPECT_OK(drv::graph_begin_capture(inner, stream));
  EXPECT_OK(sleep_for(stream, 1ms));
  EXPECT_OK(drv::graph_end_capture(inner));
  EXPECT_OK(drv::graph_begin_capture(outer, stream));
  EXPECT_FAIL(drv::graph_launch(inner, stream), Status::kIllegalState, "capturing");
  EXPECT_OK(drv::graph_reset(outer));  // ends the capture
  bool capturing = true;
  EXPECT_OK(drv::stream_is_capturing(stream, &capturing));
  EXPECT(!capturing);
  EXPECT_OK(drv::graph_destroy(inner));
  EXPECT_OK(drv::graph_destroy(outer));
}

// A graph replays on the device it was captured on.
void a_graph_is_refused_a_stream_of_another_device() {
  if (kDevices < 2) {
    return;
  }
  const drv::Stream stream = new_stream(0);
  drv::Graph graph = 0;
  EXPECT_OK(drv::graph_create(false, &graph));
  EXPECT_OK(drv::graph_begin_capture(graph, stream));
  std::atomic<int> runs{0};
  EXPECT_OK(launch(stream, [&] { ++runs; }));
  EXPECT_OK(drv::graph_end_capture(graph));
  EXPECT_FAIL(drv::graph_launch(graph, new_stream(1)), Status::kInvalidValue, "captured on");
  EXPECT_FAIL(drv::graph_launch(graph, default_stream(1)), Status::kInvalidValue, "mtia:1");
  EXPECT_OK(drv::device_synchronize(1));
  EXPECT(runs == 0);
  EXPECT_OK(drv::graph_launch(graph, default_stream(0)));
  EXPECT_OK(drv::device_synchronize(0));
  EXPECT(runs == 1);
  EXPECT_OK(drv::graph_destroy(graph));
}

// A call refused on a capturing stream invalidates the capture: ending it
// fails, the graph holds nothing to replay, and it can capture again.
void refused_calls_invalidate_a_capture() {
  void* device_memory = nullptr;
  EXPECT_OK(drv::malloc(0, 64, &device_memory));
  char pageable[64] = {};
  const std::vector<std::pair<const char*, std::function<Status(drv::Stream)>>> refusals = {
      {"pageable host memory",
       [&](drv::Stream s) {
         return drv::memcpy_async(device_memory, pageable, 64, drv::MemcpyKind::kHostToDevice, s);
       }},
      {"pageable host memory",
       [&](drv::Stream s) {
         return drv::memcpy_async(pageable, device_memory, 64, drv::MemcpyKind::kDeviceToHost, s);
       }},
      {"cannot be queried", [](drv::Stream s) { return drv::stream_query(s); }},
      {"cannot be synchronized", [](drv::Stream s) { return drv::stream_synchronize(s); }},
      {"device synchronize", [](drv::Stream s) { return drv::device_synchronize(s.device); }},
  };
  for (const auto& [text, refused_call] : refusals) {
    const drv::Stream stream = new_stream(0);
    drv::Graph graph = 0;
    EXPECT_OK(drv::graph_create(false, &graph));
    EXPECT_OK(drv::graph_begin_capture(graph, stream));
    std::atomic<int> runs{0};
    EXPECT_OK(launch(stream, [&] { ++runs; }));
    EXPECT_FAIL(refused_call(stream), Status::kNotPermittedWhileCapturing, text);
    EXPECT_OK(launch(stream, [&] { ++runs; }));  // accepted, and dropped
    EXPECT_FAIL(
        drv::graph_end_capture(graph), Status::kCaptureInvalidated, "invalidated during capture");
    EXPECT(drv::last_error_message().find(text) != std::string::npos);
    bool capturing = true;
    EXPECT_OK(drv::stream_is_capturing(stream, &capturing));
    EXPECT(!capturing);
    EXPECT_FAIL(drv::graph_launch(graph, stream), Status::kIllegalState, "no finished capture");
    EXPECT_FAIL(drv::graph_instantiate(graph), Status::kIllegalState, "before its capture");
    EXPECT_OK(drv::stream_synchronize(stream));
    EXPECT(runs == 0);
    // The graph and the stream capture again.
    EXPECT_OK(drv::graph_begin_capture(graph, stream));
    EXPECT_OK(launch(stream, [&] { runs += 10; }));
    EXPECT_OK(drv::graph_end_capture(graph));
    EXPECT_OK(drv::graph_launch(graph, stream));
    EXPECT_OK(drv::stream_synchronize(stream));
    EXPECT(runs == 10);
    EXPECT_OK(drv::graph_destroy(graph));
  }
  // Copies through page-locked memory are captured.
  void* pinned = nullptr;
  EXPECT_OK(drv::host_alloc(64, &pinned));
  std::memset(pinned, 7, 64);
  const drv::Stream stream = new_stream(0);
  EXPECT_OK(drv::memset_async(device_memory, 0, 64, stream));
  EXPECT_OK(drv::stream_synchronize(stream));
  drv::Graph graph = 0;
  EXPECT_OK(drv::graph_create(false, &graph));
  EXPECT_OK(drv::graph_begin_capture(graph, stream));
  EXPECT_OK(drv::memcpy_async(device_memory, pinned, 64, drv::MemcpyKind::kHostToDevice, stream));
  EXPECT_OK(drv::graph_end_capture(graph));
  EXPECT(static_cast<char*>(device_memory)[0] == 0);
  EXPECT_OK(drv::graph_launch(graph, stream));
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(static_cast<char*>(device_memory)[63] == 7);
  EXPECT_OK(drv::graph_destroy(graph));
  EXPECT_OK(drv::host_free(pinned));
  EXPECT_OK(drv::free(device_memory));
}

void graphs_keep_the_memory_they_use() {
  const std::size_t before = allocated_bytes(0);
  const drv::Stream stream = new_stream(0);
  void* block = nullptr;
  EXPECT_OK(drv::malloc(0, 4096, &block));
  drv::Graph graph = 0;
  EXPECT_OK(drv::graph_create(false, &graph));
  EXPECT_OK(drv::graph_begin_capture(graph, stream));
  EXPECT_OK(drv::memset_async(block, 3, 4096, stream));
  EXPECT_OK(drv::graph_end_capture(graph));
  EXPECT_OK(drv::free(block));
  EXPECT(allocated_bytes(0) == before + 4096);  // the graph holds it
  EXPECT_OK(drv::graph_launch(graph, stream));
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(allocated_bytes(0) == before + 4096);
  EXPECT_OK(drv::graph_destroy(graph));
  EXPECT(allocated_bytes(0) == before);
}

// Work submitted to a capture that a refused call invalidated is dropped,
// and destroyed with the engine's mutex released.
void work_dropped_by_an_invalidated_capture_is_destroyed_unlocked() {
  const drv::Stream stream = new_stream(0);
  drv::Graph graph = 0;
  EXPECT_OK(drv::graph_create(false, &graph));
  EXPECT_OK(drv::graph_begin_capture(graph, stream));
  EXPECT_FAIL(drv::stream_query(stream), Status::kNotPermittedWhileCapturing, "capturing");
  std::atomic<int> destroyed{0};
  EXPECT_OK(launch(stream, kernel_calling_the_driver_when_destroyed(stream, &destroyed)));
  EXPECT_FAIL(drv::graph_end_capture(graph), Status::kCaptureInvalidated, "invalidated");
  EXPECT(destroyed == 1);
  EXPECT_OK(drv::graph_destroy(graph));
}

// ---- Memory.

void memory_has_a_capacity() {
  std::size_t capacity = 0;
  EXPECT_OK(emu::memory_capacity(0, &capacity));
  EXPECT(capacity == fakedevice::config::kDeviceMemoryBytes);
  const std::size_t start = allocated_bytes(0);
  EXPECT_OK(emu::set_memory_capacity(0, start + 1000));
  void* first = nullptr;
  EXPECT_OK(drv::malloc(0, 600, &first));
  EXPECT(first != nullptr);
  EXPECT(reinterpret_cast<std::uintptr_t>(first) % 256 == 0);
  drv::PointerAttributes attributes;
  EXPECT_OK(drv::pointer_get_attributes(static_cast<char*>(first) + 599, &attributes));
  EXPECT(attributes.type == drv::MemoryType::kDevice && attributes.device == 0);
  EXPECT(attributes.base == first && attributes.bytes == 600);
  void* second = nullptr;
  EXPECT_FAIL(
      drv::malloc(0, 600, &second),
      Status::kOutOfMemory,
      "tried to allocate 600 bytes; 400 bytes free");
  EXPECT(second == nullptr);
  drv::MemoryInfo info;
  EXPECT_OK(drv::mem_get_info(0, &info));
  EXPECT(info.total == start + 1000 && info.free == 400);
  EXPECT_OK(drv::free(first));
  EXPECT(allocated_bytes(0) == start);
  EXPECT_FAIL(drv::free(first), Status::kInvalidValue, "not the start of an allocated block");
  EXPECT_OK(emu::set_memory_capacity(0, capacity));
  void* none = &capacity;
  EXPECT_OK(drv::malloc(0, 0, &none));
  EXPECT(none == nullptr);
  EXPECT_FAIL(drv::malloc(kDevices, 1, &none), Status::kInvalidDevice, "out of range");
  EXPECT_FAIL(emu::set_memory_capacity(kDevices, 1), Status::kInvalidDevice, "out of range");
  EXPECT_FAIL(emu::memory_capacity(-1, &capacity), Status::kInvalidDevice, "-1");
}

void copies_and_memsets_are_checked_against_their_blocks() {
  const drv::Stream stream = new_stream(0);
  void* device_memory = nullptr;
  void* pinned = nullptr;
  EXPECT_OK(drv::malloc(0, 64, &device_memory));
  EXPECT_OK(drv::host_alloc(64, &pinned));
  char* dev = static_cast<char*>(device_memory);
  char host[128];
  for (int i = 0; i < 128; ++i) {
    host[i] = static_cast<char>(i);
  }
  using K = drv::MemcpyKind;
  EXPECT_FAIL(
      drv::memcpy_async(dev, host, 65, K::kHostToDevice, stream),
      Status::kInvalidValue,
      "run past");
  EXPECT_FAIL(
      drv::memcpy_async(dev + 40, host, 32, K::kHostToDevice, stream),
      Status::kInvalidValue,
      "run past the end of its block of 64 bytes");
  EXPECT_FAIL(
      drv::memcpy_async(host, dev + 1, 64, K::kDeviceToHost, stream),
      Status::kInvalidValue,
      "run past");
  EXPECT_FAIL(
      drv::memcpy_async(dev, dev + 8, 64, K::kDeviceToDevice, stream),
      Status::kInvalidValue,
      "run past");
  EXPECT_FAIL(
      drv::memcpy_async(dev, pinned, 65, K::kHostToDevice, stream),
      Status::kInvalidValue,
      "run past");
  EXPECT_FAIL(drv::memset_async(dev + 1, 0, 64, stream), Status::kInvalidValue, "run past");
  EXPECT_FAIL(
      drv::memcpy_async(dev, dev, 8, K::kHostToDevice, stream),
      Status::kInvalidValue,
      "where host memory was expected");
  EXPECT_FAIL(
      drv::memcpy_async(host, host + 64, 8, K::kDeviceToHost, stream),
      Status::kInvalidValue,
      "is not device memory");
  EXPECT_FAIL(drv::memset_async(host, 0, 8, stream), Status::kInvalidValue, "not device memory");
  EXPECT_OK(drv::stream_synchronize(stream));
  // In bounds, they copy.
  EXPECT_OK(drv::memset_async(dev, 0, 64, stream));
  EXPECT_OK(drv::memcpy_async(dev + 32, host, 32, K::kHostToDevice, stream));
  EXPECT_OK(drv::memcpy_async(dev, dev + 32, 16, K::kDeviceToDevice, stream));
  EXPECT_OK(drv::memcpy_async(pinned, dev, 64, K::kDeviceToHost, stream));
  EXPECT_OK(drv::memcpy_async(dev, host, 0, K::kHostToDevice, stream));  // nothing to do
  EXPECT_OK(drv::stream_synchronize(stream));
  const char* out = static_cast<const char*>(pinned);
  EXPECT(out[0] == 0 && out[15] == 15 && out[16] == 0 && out[32] == 0 && out[63] == 31);
  EXPECT_OK(drv::free(device_memory));
  EXPECT_FAIL(
      drv::memcpy_async(dev, host, 8, K::kHostToDevice, stream),
      Status::kInvalidValue,
      "not device memory");
  EXPECT_OK(drv::host_free(pinned));
}

void freeing_waits_for_recorded_streams_and_holds() {
  const std::size_t before = allocated_bytes(0);
  const drv::Stream stream = new_stream(0);
  void* block = nullptr;
  EXPECT_OK(drv::malloc(0, 4096, &block));
  Gate gate;
  EXPECT_OK(launch(stream, gate.kernel()));
  EXPECT_OK(drv::memory_record_stream(block, stream));
  EXPECT_OK(drv::memory_record_stream(block, stream));  // once is enough
  EXPECT_OK(drv::free(block));
  EXPECT(allocated_bytes(0) == before + 4096);  // the stream may still use it
  gate.open();
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(allocated_bytes(0) == before);

  // A kernel's `uses` keep its memory until it has run.
  void* used = nullptr;
  EXPECT_OK(drv::malloc(0, 4096, &used));
  Gate second;
  std::atomic<int> seen{0};
  EXPECT_OK(launch(stream, second.kernel()));
  EXPECT_OK(launch(stream, [used, &seen] { seen = static_cast<int*>(used)[0] = 5; }, {used}));
  EXPECT_OK(drv::free(used));
  EXPECT(allocated_bytes(0) == before + 4096);
  second.open();
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(seen == 5);
  EXPECT(allocated_bytes(0) == before);

  void* held = nullptr;
  EXPECT_OK(drv::malloc(0, 4096, &held));
  {
    const emu::MemoryHold hold(static_cast<char*>(held) + 100);
    EXPECT(static_cast<bool>(hold));
    const emu::MemoryHold copy = hold;
    EXPECT_OK(drv::free(held));
    EXPECT(allocated_bytes(0) == before + 4096);
  }
  EXPECT(allocated_bytes(0) == before);
  int on_stack = 0;
  EXPECT(!emu::MemoryHold(&on_stack));
  EXPECT_FAIL(drv::memory_record_stream(&on_stack, stream), Status::kInvalidValue, "in no block");
}

void pinned_host_blocks_are_host_memory() {
  const std::size_t before = allocated_bytes(0);
  void* host = nullptr;
  EXPECT_OK(drv::host_alloc(1000, &host));
  drv::PointerAttributes attributes;
  EXPECT_OK(drv::pointer_get_attributes(static_cast<char*>(host) + 999, &attributes));
  EXPECT(attributes.type == drv::MemoryType::kHost && attributes.device == -1);
  EXPECT(allocated_bytes(0) == before);
  EXPECT(static_cast<bool>(emu::MemoryHold(host)));
  EXPECT_OK(drv::host_free(host));
  EXPECT_OK(drv::pointer_get_attributes(host, &attributes));
  EXPECT(attributes.type == drv::MemoryType::kUnregistered);
}

void kernels_holding_memory_from_many_threads() {
  constexpr int kThreads = 6;
  const std::size_t before = allocated_bytes(0);
  std::vector<std::thread> threads;
  std::atomic<int> sums{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const drv::Stream stream = new_stream(0);
      for (int round = 0; round < 100; ++round) {
        void* memory = nullptr;
        EXPECT_OK(drv::malloc(0, 64 * sizeof(int), &memory));
        auto* values = static_cast<int*>(memory);
        EXPECT_OK(launch(
            stream,
            [values] {
              for (int i = 0; i < 64; ++i) {
                values[i] = i;
              }
            },
            {values}));
        EXPECT_OK(launch(
            stream,
            [values, &sums] {
              int sum = 0;
              for (int i = 0; i < 64; ++i) {
                sum += values[i];
              }
              sums += sum == 2016 ? 1 : 0;
            },
            {values}));
        if (t % 2 == 0) {
          EXPECT_OK(drv::memory_record_stream(values, new_stream(0)));
        }
        EXPECT_OK(drv::free(values));  // the queued kernels keep it alive
      }
      EXPECT_OK(drv::stream_synchronize(stream));
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_OK(drv::device_synchronize(0));
  EXPECT(sums == kThreads * 100);
  EXPECT(allocated_bytes(0) == before);
}

// ---- Threads.

// Thousands of streams with work cost no more than max_worker_threads()
// threads, and all their work runs.
void worker_threads_stay_bounded() {
  constexpr int kStreams = 2000;
  const int bound = emu::max_worker_threads();
  EXPECT(bound >= 2);
  EXPECT(eventually([] { return emu::worker_thread_count() == 0; }));
  const int baseline = process_thread_count();
  EXPECT(baseline > 0);
  Gate gate;
  std::atomic<int> ran{0};
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  std::vector<drv::Stream> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(new_stream(i % kDevices));
  }
  for (const drv::Stream& stream : streams) {
    // Every kernel blocks until the gate opens: all workers get busy at once.
    EXPECT_OK(launch(stream, [&] {
      const int now = ++running;
      int most = most_running.load();
      while (now > most && !most_running.compare_exchange_weak(most, now)) {
      }
      gate.wait();
      --running;
      ++ran;
    }));
  }
  EXPECT(eventually([&] { return running.load() == bound; }));
  std::this_thread::sleep_for(50ms);  // room for a worker too many to show up
  EXPECT(emu::worker_thread_count() == bound);
  EXPECT(process_thread_count() <= baseline + bound);
  EXPECT(running.load() == bound);
  gate.open();
  for (int device = 0; device < kDevices; ++device) {
    EXPECT_OK(drv::device_synchronize(device));
  }
  EXPECT(ran == kStreams);
  EXPECT(most_running.load() == bound);
  EXPECT(emu::worker_thread_count() <= bound);
  // Idle workers leave. A worker counts itself out just before its thread
  // ends; the baseline may include such threads of earlier tests.
  EXPECT(eventually([] { return emu::worker_thread_count() == 0; }));
  EXPECT(eventually([&] { return process_thread_count() <= baseline; }));
}

// The ThreadSanitizer run leans on this one: every entry point, from many
// threads, on shared streams, events and memory.
void many_threads_share_streams_and_events() {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::vector<drv::Stream> shared;
  for (int i = 0; i < kThreads; ++i) {
    shared.push_back(new_stream(i % kDevices));
  }
  std::atomic<int> tasks_run{0};
  std::vector<std::vector<drv::StreamId>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const drv::Stream mine = shared[t];
      const drv::Stream next = shared[(t + 1) % kThreads];
      EXPECT_OK(drv::set_device(mine.device));
      for (int round = 0; round < kRounds; ++round) {
        ids[t].push_back(new_stream(mine.device).id);
        EXPECT_OK(launch(mine, [&] { ++tasks_run; }));
        drv::Event event = new_event(mine.device, true);
        EXPECT_OK(drv::event_record(event, mine));
        EXPECT_OK(drv::stream_wait_event(next, event));
        EXPECT_OK(launch(next, [&] { ++tasks_run; }));
        const Status query = drv::event_query(event);
        EXPECT(query == Status::kSuccess || query == Status::kNotReady);
        const Status next_query = drv::stream_query(next);
        EXPECT(next_query == Status::kSuccess || next_query == Status::kNotReady);
        void* memory = nullptr;
        EXPECT_OK(drv::malloc(mine.device, 256, &memory));
        EXPECT_OK(drv::memset_async(memory, t, 256, mine));
        EXPECT_OK(drv::memory_record_stream(memory, next));
        EXPECT_OK(drv::free(memory));
        if (round % 50 == 0) {
          EXPECT_OK(sleep_for(mine, 1ms));
          EXPECT_OK(drv::event_synchronize(event));
          double elapsed = -1;
          EXPECT_OK(drv::event_elapsed_time(event, event, &elapsed));
          drv::Graph graph = 0;
          EXPECT_OK(drv::graph_create(false, &graph));
          const drv::Stream capture = new_stream(mine.device);
          EXPECT_OK(drv::graph_begin_capture(graph, capture));
          EXPECT_OK(launch(capture, [&] { ++tasks_run; }));
          EXPECT_OK(drv::graph_end_capture(graph));
          EXPECT_OK(drv::graph_launch(graph, mine));
          EXPECT_OK(drv::graph_destroy(graph));
        }
        EXPECT_OK(drv::event_destroy(event));
      }
      EXPECT_OK(drv::stream_synchronize(mine));
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (int device = 0; device < kDevices; ++device) {
    EXPECT_OK(drv::device_synchronize(device));
  }
  EXPECT(tasks_run == 2 * kThreads * kRounds + kThreads * (kRounds / 50));
  std::vector<drv::StreamId> all;
  for (const auto& batch : ids) {
    all.insert(all.end(), batch.begin(), batch.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT(std::adjacent_find(all.begin(), all.end()) == all.end());
}

void activity_records_say_what_ran_where() {
  const drv::Stream stream = new_stream(0);
  std::vector<drv::ActivityRecord> records;
  EXPECT_OK(drv::activity_flush(&records));
  records.clear();
  EXPECT_OK(drv::activity_enable(true));
  drv::set_correlation_id(77);
  EXPECT_OK(launch(stream, [] {}));
  EXPECT_OK(sleep_for(stream, 1ms));
  EXPECT_OK(drv::stream_synchronize(stream));
  drv::set_correlation_id(0);
  EXPECT_OK(drv::activity_enable(false));
  EXPECT_OK(launch(stream, [] {}));
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT_OK(drv::activity_flush(&records));
  EXPECT(records.size() == 2);
  if (records.size() == 2) {
    EXPECT(records[0].kind == drv::ActivityKind::kKernel && records[0].name == "test kernel");
    EXPECT(records[1].kind == drv::ActivityKind::kSleep);
    EXPECT(records[0].stream == stream.id && records[0].correlation == 77);
    EXPECT(records[1].end_ns - records[1].start_ns >= 1'000'000);
  }
}

// ---- Fork and shutdown: last, they leave the emulator unusable.

// A child forked after the parent used the device refuses it, naming the
// 'spawn' start method, instead of waiting for workers it does not have.
void a_child_forked_after_use_refuses_the_device() {
  const drv::Stream stream = new_stream(0);
  EXPECT_OK(sleep_for(stream, 300ms));  // the parent has work queued at the fork
  void* memory = nullptr;
  EXPECT_OK(drv::malloc(0, 64, &memory));
  drv::Event event = new_event(0, false);
  const int code = in_forked_child([&] {
    drv::Stream created{};
    void* more = nullptr;
    const Status statuses[] = {
        drv::stream_create(0, &created),
        drv::stream_synchronize(stream),
        drv::device_synchronize(0),
        sleep_for(default_stream(0), 1ms),
        drv::malloc(0, 64, &more),
        launch(default_stream(0), [] {}),
        drv::event_record(event, stream),
    };
    for (const Status status : statuses) {
      if (status != Status::kUnavailableAfterFork) {
        return 1;
      }
    }
    if (drv::last_error_message().find("'spawn'") == std::string::npos) {
      return 2;
    }
    // Letting go of the parent's objects is harmless.
    if (drv::free(memory) != Status::kSuccess || drv::event_destroy(event) != Status::kSuccess) {
      return 3;
    }
    return 0;
  });
  EXPECT(code == 0);
  EXPECT_OK(drv::stream_synchronize(stream));  // the parent goes on
  EXPECT_OK(drv::free(memory));
  EXPECT_OK(drv::event_destroy(event));
}

// Must run last: the emulator stays shut down afterwards.
void shutdown_drops_queued_work_and_runs_later_work_inline() {
  const drv::Stream stream = new_stream(0);
  EXPECT_OK(sleep_for(stream, 10s));
  bool dropped_task_ran = false;
  EXPECT_OK(launch(stream, [&] { dropped_task_ran = true; }));
  const drv::Event event = new_event(0, false);
  EXPECT_OK(drv::event_record(event, stream));
  const auto start = Clock::now();
  emu::shutdown();
  EXPECT(ms_since(start) < 3000);
  EXPECT(idle(stream));
  EXPECT(!dropped_task_ran);
  EXPECT_OK(drv::event_synchronize(event));  // returns, though the record was dropped
  bool ran_inline = false;
  EXPECT_OK(launch(stream, [&] { ran_inline = true; }));
  EXPECT(ran_inline);
  std::atomic<int> destroyed{0};
  EXPECT_OK(launch(stream, kernel_calling_the_driver_when_destroyed(stream, &destroyed)));
  EXPECT(destroyed == 1);
  EXPECT_OK(sleep_for(stream, 10s));  // nothing left to delay
  EXPECT_OK(drv::stream_synchronize(stream));
  EXPECT(emu::worker_thread_count() == 0);
  emu::shutdown();  // idempotent
}

}  // namespace

int main() {
  const std::pair<const char*, void (*)()> tests[] = {
      {"a_child_forked_before_any_use_works", a_child_forked_before_any_use_works},
      {"a_child_forked_after_work_on_a_default_stream_refuses_the_device",
       a_child_forked_after_work_on_a_default_stream_refuses_the_device},
      {"work_runs_in_order_off_the_calling_thread", work_runs_in_order_off_the_calling_thread},
      {"default_streams_of_each_device_run_work_in_order",
       default_streams_of_each_device_run_work_in_order},
      {"query_and_synchronize_follow_pending_work", query_and_synchronize_follow_pending_work},
      {"busy_periods_on_one_stream_add_up_and_streams_overlap",
       busy_periods_on_one_stream_add_up_and_streams_overlap},
      {"device_synchronize_waits_for_every_stream_of_the_device_and_no_other",
       device_synchronize_waits_for_every_stream_of_the_device_and_no_other},
      {"events_complete_when_the_stream_reaches_them",
       events_complete_when_the_stream_reaches_them},
      {"rerecording_an_event_moves_it", rerecording_an_event_moves_it},
      {"waiting_on_an_event_holds_back_later_work", waiting_on_an_event_holds_back_later_work},
      {"a_stream_waits_for_a_record_made_from_a_destroyed_event",
       a_stream_waits_for_a_record_made_from_a_destroyed_event},
      {"destroyed_events_are_freed_once_queued_work_is_done",
       destroyed_events_are_freed_once_queued_work_is_done},
      {"errors_raised_by_work_are_reported_once_in_one_line",
       errors_raised_by_work_are_reported_once_in_one_line},
      {"bad_arguments_are_refused", bad_arguments_are_refused},
      {"stream_ids_are_tied_to_their_device", stream_ids_are_tied_to_their_device},
      {"current_device_is_per_thread", current_device_is_per_thread},
      {"graphs_capture_work_and_replay_it", graphs_capture_work_and_replay_it},
      {"kept_graphs_need_instantiating", kept_graphs_need_instantiating},
      {"a_graph_cannot_be_replayed_into_a_capturing_stream",
       a_graph_cannot_be_replayed_into_a_capturing_stream},
      {"a_graph_is_refused_a_stream_of_another_device",
       a_graph_is_refused_a_stream_of_another_device},
      {"refused_calls_invalidate_a_capture", refused_calls_invalidate_a_capture},
      {"work_dropped_by_an_invalidated_capture_is_destroyed_unlocked",
       work_dropped_by_an_invalidated_capture_is_destroyed_unlocked},
      {"graphs_keep_the_memory_they_use", graphs_keep_the_memory_they_use},
      {"memory_has_a_capacity", memory_has_a_capacity},
      {"copies_and_memsets_are_checked_against_their_blocks",
       copies_and_memsets_are_checked_against_their_blocks},
      {"freeing_waits_for_recorded_streams_and_holds",
       freeing_waits_for_recorded_streams_and_holds},
      {"pinned_host_blocks_are_host_memory", pinned_host_blocks_are_host_memory},
      {"kernels_holding_memory_from_many_threads", kernels_holding_memory_from_many_threads},
      {"worker_threads_stay_bounded", worker_threads_stay_bounded},
      {"many_threads_share_streams_and_events", many_threads_share_streams_and_events},
      {"activity_records_say_what_ran_where", activity_records_say_what_ran_where},
      {"a_child_forked_after_use_refuses_the_device", a_child_forked_after_use_refuses_the_device},
      {"shutdown_drops_queued_work_and_runs_later_work_inline",
       shutdown_drops_queued_work_and_runs_later_work_inline},
  };
  for (const auto& [name, test] : tests) {
    const int before = failures;
    const auto start = Clock::now();
    running_since_ns = start.time_since_epoch().count();
    running_test = name;
    test();
    running_test = nullptr;
    if (test == a_child_forked_after_work_on_a_default_stream_refuses_the_device) {
      start_watchdog();  // after: a child forked from one thread may start threads
    }
    std::printf("%s %s (%.0f ms)\n", failures == before ? "ok  " : "FAIL", name, ms_since(start));
    std::fflush(stdout);
  }
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
