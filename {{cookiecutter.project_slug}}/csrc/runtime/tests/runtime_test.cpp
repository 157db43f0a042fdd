// Tests of the emulated runtime on its own, without torch. tests/test_runtime.py
// builds and runs them twice: plainly, and under ThreadSanitizer.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/runtime.h"

namespace rt = fakedevice::runtime;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

int failures = 0;

#define EXPECT(condition)                                                           \
  do {                                                                              \
    if (!(condition)) {                                                             \
      std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                   \
    }                                                                               \
  } while (0)

// True when `call` throws rt::Error whose message contains `text`.
bool throws(const std::function<void()>& call, const std::string& text) {
  try {
    call();
  } catch (const rt::Error& error) {
    if (std::string(error.what()).find(text) != std::string::npos) {
      return true;
    }
    std::fprintf(stderr, "unexpected message: %s\n", error.what());
  }
  return false;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void work_runs_in_order_off_the_calling_thread() {
  const rt::Stream stream = rt::new_stream(0);
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 100; ++i) {
    rt::enqueue(stream, [&, i] {
      std::lock_guard<std::mutex> lock(mutex);
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    });
  }
  rt::synchronize_stream(stream);
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) {
    expected[i] = i;
  }
  EXPECT(order == expected);
  EXPECT(std::none_of(threads.begin(), threads.end(), [](std::thread::id id) {
    return id == std::this_thread::get_id();
  }));
}

void query_and_synchronize_follow_pending_work() {
  const rt::Stream stream = rt::new_stream(0);
  EXPECT(rt::query_stream(stream));
  const auto start = Clock::now();
  rt::sleep(stream, 50ms);
  EXPECT(ms_since(start) < 40);  // sleep() only queues the busy period
  EXPECT(!rt::query_stream(stream));
  rt::synchronize_stream(stream);
  EXPECT(ms_since(start) >= 50);
  EXPECT(rt::query_stream(stream));
}

void busy_periods_on_one_stream_add_up_and_streams_overlap() {
  const rt::Stream one = rt::new_stream(0);
  auto start = Clock::now();
  rt::sleep(one, 40ms);
  rt::sleep(one, 40ms);
  rt::synchronize_stream(one);
  EXPECT(ms_since(start) >= 80);

  std::vector<rt::Stream> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(rt::new_stream(0));
  }
  start = Clock::now();
  for (const rt::Stream& stream : streams) {
    rt::sleep(stream, 100ms);
  }
  rt::synchronize_device(0);
  const double elapsed = ms_since(start);
  EXPECT(elapsed >= 100);
  EXPECT(elapsed < 350);  // four 100 ms periods in parallel, with slack for a loaded machine
}

void events_complete_when_the_stream_reaches_them() {
  const rt::Stream stream = rt::new_stream(0);
  const rt::Event start = rt::create_event(0, true);
  const rt::Event end = rt::create_event(0, true);
  rt::record_event(start, stream);
  EXPECT(rt::query_event(start));  // nothing queued ahead of it
  rt::sleep(stream, 60ms);
  rt::record_event(end, stream);
  EXPECT(!rt::query_event(end));
  EXPECT(throws([&] { rt::elapsed_ms(start, end); }, "completed"));
  rt::synchronize_event(end);
  EXPECT(rt::query_event(end));
  const double elapsed = rt::elapsed_ms(start, end);
  EXPECT(elapsed >= 60 && elapsed < 5000);
  rt::destroy_event(start);
  rt::destroy_event(end);
}

void waiting_on_an_event_holds_back_later_work() {
  const rt::Stream producer = rt::new_stream(0);
  const rt::Stream consumer = rt::new_stream(rt::device_count() - 1);
  const rt::Event ready = rt::create_event(0, false);
  const auto start = Clock::now();
  rt::sleep(producer, 80ms);
  rt::record_event(ready, producer);
  rt::stream_wait_event(consumer, ready);
  std::atomic<double> ran_after{0};
  rt::enqueue(consumer, [&] { ran_after = ms_since(start); });
  EXPECT(!rt::query_stream(consumer));
  rt::synchronize_stream(consumer);
  EXPECT(ran_after >= 80);
  // Waiting on a complete or never-recorded event queues nothing.
  const rt::Event never_recorded = rt::create_event(0, false);
  rt::stream_wait_event(consumer, never_recorded);
  rt::stream_wait_event(consumer, ready);
  EXPECT(rt::query_stream(consumer));
  rt::destroy_event(ready);
  rt::destroy_event(never_recorded);
}

void device_synchronize_waits_for_every_stream_of_the_device() {
  const rt::Stream a = rt::new_stream(0);
  const rt::Stream b = rt::new_stream(0);
  rt::sleep(a, 30ms);
  rt::sleep(b, 70ms);
  const auto start = Clock::now();
  rt::synchronize_device(0);
  EXPECT(ms_since(start) >= 60);
  EXPECT(rt::query_stream(a) && rt::query_stream(b));
}

void destroyed_events_are_freed_once_queued_work_is_done() {
  const std::size_t before = rt::live_event_count();
  const rt::Stream stream = rt::new_stream(0);
  rt::sleep(stream, 20ms);
  for (int i = 0; i < 1000; ++i) {
    const rt::Event event = rt::create_event(0, i % 2 == 0);
    rt::record_event(event, stream);
    rt::destroy_event(event);
  }
  // Queued records keep their events' memory until the stream reaches them.
  EXPECT(rt::live_event_count() > before);
  rt::synchronize_stream(stream);
  EXPECT(rt::live_event_count() == before);
  rt::destroy_event(nullptr);  // ignored
}

void task_errors_surface_at_the_next_synchronize() {
  const rt::Stream stream = rt::new_stream(0);
  rt::enqueue(stream, [] { throw std::runtime_error("kernel fault"); });
  EXPECT(throws([&] { rt::synchronize_stream(stream); }, "kernel fault"));
  rt::synchronize_stream(stream);  // reported once
}

void bad_arguments_are_refused() {
  const int count = rt::device_count();
  EXPECT(throws([] { rt::check_device(-1); }, "device index -1 is out of range"));
  EXPECT(throws([&] { rt::new_stream(count); }, "out of range"));
  EXPECT(throws([&] { rt::set_current_device(count + 3); }, std::to_string(count + 3)));
  EXPECT(throws([&] { rt::exchange_device(count); }, "out of range"));
  EXPECT(rt::current_device() == 0);  // a refused exchange changes nothing
  EXPECT(throws([] { rt::check_stream({0, 1'000'000'000}); }, "unknown stream 1000000000"));
  EXPECT(throws([] { rt::sleep(rt::new_stream(0), -1ms); }, "negative"));
  EXPECT(throws([] { rt::enqueue(rt::new_stream(0), nullptr); }, "empty task"));
  const rt::Event untimed = rt::create_event(0, false);
  const rt::Event timed = rt::create_event(0, true);
  rt::record_event(untimed, rt::default_stream(0));
  rt::record_event(timed, rt::default_stream(0));
  EXPECT(throws([&] { rt::elapsed_ms(timed, untimed); }, "timing"));
  if (count > 1) {
    EXPECT(throws([&] { rt::record_event(timed, rt::new_stream(1)); }, "cannot be recorded"));
  }
  rt::destroy_event(untimed);
  rt::destroy_event(timed);
}

void current_device_and_streams_are_per_thread() {
  const int last = rt::device_count() - 1;
  const rt::Stream stream = rt::new_stream(last);
  EXPECT(rt::exchange_device(last) == 0);
  rt::exchange_stream(stream);
  int seen_device = -1;
  rt::StreamId seen_stream = -1;
  std::thread([&] {
    seen_device = rt::current_device();
    seen_stream = rt::current_stream(last).id;
  }).join();
  EXPECT(seen_device == 0);
  EXPECT(seen_stream == rt::kDefaultStreamId);
  EXPECT(rt::current_stream(last).id == stream.id);
  rt::exchange_stream(rt::default_stream(last));
  EXPECT(rt::exchange_device(0) == last);
}

// The ThreadSanitizer run leans on this one: every entry point, from many
// threads, on shared streams and events.
void many_threads_share_streams_and_events() {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::vector<rt::Stream> shared;
  for (int i = 0; i < kThreads; ++i) {
    shared.push_back(rt::new_stream(i % rt::device_count()));
  }
  std::atomic<int> tasks_run{0};
  std::vector<std::vector<rt::StreamId>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const rt::Stream mine = shared[t];
      const rt::Stream next = shared[(t + 1) % kThreads];
      rt::set_current_device(mine.device);
      for (int round = 0; round < kRounds; ++round) {
        ids[t].push_back(rt::new_stream(mine.device).id);
        rt::enqueue(mine, [&] { ++tasks_run; });
        const rt::Event event = rt::create_event(mine.device, true);
        rt::record_event(event, mine);
        rt::stream_wait_event(next, event);
        rt::enqueue(next, [&] { ++tasks_run; });
        rt::query_event(event);
        rt::query_stream(next);
        if (round % 50 == 0) {
          rt::sleep(mine, 1ms);
          rt::synchronize_event(event);
          rt::elapsed_ms(event, event);
        }
        rt::destroy_event(event);
      }
      rt::synchronize_stream(mine);
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (int device = 0; device < rt::device_count(); ++device) {
    rt::synchronize_device(device);
  }
  EXPECT(tasks_run == 2 * kThreads * kRounds);
  std::vector<rt::StreamId> all;
  for (const auto& batch : ids) {
    all.insert(all.end(), batch.begin(), batch.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT(std::adjacent_find(all.begin(), all.end()) == all.end());
}

void graphs_capture_work_and_replay_it() {
  const rt::Stream stream = rt::new_stream(0);
  const rt::GraphId graph = rt::create_graph(false);
  std::atomic<int> runs{0};
  const rt::Event done = rt::create_event(0, true);
  rt::begin_capture(graph, stream);
  EXPECT(rt::is_capturing(stream));
  EXPECT(!rt::is_capturing(rt::new_stream(0)));
  rt::sleep(stream, 30ms);
  rt::enqueue(stream, [&] { ++runs; });
  rt::record_event(done, stream);
  EXPECT(throws([&] { rt::synchronize_stream(stream); }, "is capturing a graph"));
  EXPECT(throws([&] { rt::query_stream(stream); }, "is capturing a graph"));
  rt::end_capture(graph);
  EXPECT(!rt::is_capturing(stream));
  EXPECT(rt::query_stream(stream));  // captured, not queued
  EXPECT(runs == 0);
  const rt::Stream replay_on = rt::new_stream(0);
  for (int replay = 1; replay <= 2; ++replay) {
    const auto start = Clock::now();
    rt::replay_graph(graph, replay_on);
    EXPECT(!rt::query_event(done));
    rt::synchronize_event(done);
    EXPECT(ms_since(start) >= 30);
    EXPECT(runs == replay);
  }
  rt::reset_graph(graph);
  EXPECT(throws([&] { rt::replay_graph(graph, replay_on); }, "no finished capture"));
  rt::destroy_graph(graph);
  EXPECT(throws([&] { rt::replay_graph(graph, replay_on); }, "unknown graph"));
  rt::destroy_event(done);
}

void kept_graphs_need_instantiating() {
  const rt::Stream stream = rt::new_stream(0);
  const rt::GraphId graph = rt::create_graph(true);
  EXPECT(throws([&] { rt::end_capture(graph); }, "is not capturing"));
  rt::begin_capture(graph, stream);
  EXPECT(throws([&] { rt::begin_capture(rt::create_graph(false), stream); }, "already capturing"));
  rt::sleep(stream, 1ms);
  rt::end_capture(graph);
  EXPECT(throws([&] { rt::replay_graph(graph, stream); }, "instantiate it first"));
  rt::instantiate_graph(graph);
  rt::replay_graph(graph, stream);
  rt::synchronize_stream(stream);
  rt::destroy_graph(graph);
}

void memory_has_a_capacity_and_counts_blocks() {
  const rt::MemoryStats start = rt::memory_stats(0);
  rt::set_memory_capacity(0, start.allocated + 1000);
  void* first = rt::allocate(0, 600);
  EXPECT(first != nullptr);
  EXPECT(rt::device_of_pointer(first) == 0);
  EXPECT(rt::device_of_pointer(static_cast<char*>(first) + 599) == 0);
  bool refused = false;
  try {
    rt::allocate(0, 600);
  } catch (const rt::OutOfMemory& error) {
    refused = error.requested == 600 && error.free_bytes == 400 &&
              std::string(error.what()).find("tried to allocate 600 bytes; 400 bytes free") !=
                  std::string::npos;
  }
  EXPECT(refused);
  const rt::MemoryStats during = rt::memory_stats(0);
  EXPECT(during.allocated == start.allocated + 600);
  EXPECT(during.out_of_memory_errors == start.out_of_memory_errors + 1);
  rt::deallocate(first);
  EXPECT(rt::memory_stats(0).allocated == start.allocated);
  EXPECT(rt::memory_stats(0).peak_allocated >= start.allocated + 600);
  rt::set_memory_capacity(0, start.capacity);
  EXPECT(rt::allocate(0, 0) == nullptr);
  EXPECT(throws([] { rt::allocate(rt::device_count(), 1); }, "out of range"));
}

void freeing_waits_for_recorded_streams_and_pins() {
  const std::size_t before = rt::memory_stats(0).allocated;
  const rt::Stream stream = rt::new_stream(0);
  void* block = rt::allocate(0, 4096);
  rt::sleep(stream, 50ms);
  rt::record_stream(block, stream);
  rt::deallocate(block);
  EXPECT(rt::memory_stats(0).allocated == before + 4096);  // the stream may still use it
  rt::synchronize_stream(stream);
  EXPECT(rt::memory_stats(0).allocated == before);

  void* pinned = rt::allocate(0, 4096);
  {
    const rt::BlockPin pin(static_cast<char*>(pinned) + 100);
    EXPECT(static_cast<bool>(pin));
    const rt::BlockPin copy = pin;
    rt::deallocate(pinned);
    EXPECT(rt::memory_stats(0).allocated == before + 4096);
  }
  EXPECT(rt::memory_stats(0).allocated == before);
  int on_stack = 0;
  EXPECT(!rt::BlockPin(&on_stack));
  EXPECT(throws([&] { rt::record_stream(&on_stack, stream); }, "not in any block"));
}

void pinned_host_blocks_are_host_memory() {
  const std::size_t before = rt::memory_stats(0).allocated;
  void* host = rt::allocate_host(1000);
  EXPECT(rt::is_host_block(static_cast<char*>(host) + 999));
  EXPECT(rt::device_of_pointer(host) == -1);
  EXPECT(rt::memory_stats(0).allocated == before);
  EXPECT(static_cast<bool>(rt::BlockPin(host)));
  rt::deallocate(host);
  EXPECT(!rt::is_host_block(host));
}

void tasks_pinning_memory_from_many_threads() {
  constexpr int kThreads = 6;
  const std::size_t before = rt::memory_stats(0).allocated;
  std::vector<std::thread> threads;
  std::atomic<int> sums{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const rt::Stream stream = rt::new_stream(0);
      for (int round = 0; round < 100; ++round) {
        auto* values = static_cast<int*>(rt::allocate(0, 64 * sizeof(int)));
        rt::enqueue(stream, [values, pin = rt::BlockPin(values)] {
          for (int i = 0; i < 64; ++i) {
            values[i] = i;
          }
        });
        rt::enqueue(stream, [values, pin = rt::BlockPin(values), &sums] {
          int sum = 0;
          for (int i = 0; i < 64; ++i) {
            sum += values[i];
          }
          sums += sum == 2016 ? 1 : 0;
        });
        if (t % 2 == 0) {
          rt::record_stream(values, rt::new_stream(0));
        }
        rt::deallocate(values);  // the queued tasks keep it alive
      }
      rt::synchronize_stream(stream);
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  rt::synchronize_device(0);
  EXPECT(sums == kThreads * 100);
  EXPECT(rt::memory_stats(0).allocated == before);
}

// Must run last: the runtime stays shut down afterwards.
void shutdown_drops_queued_work_and_runs_later_work_inline() {
  const rt::Stream stream = rt::new_stream(0);
  rt::sleep(stream, 10s);
  bool dropped_task_ran = false;
  rt::enqueue(stream, [&] { dropped_task_ran = true; });
  const auto start = Clock::now();
  rt::shutdown();
  EXPECT(ms_since(start) < 2000);
  EXPECT(rt::query_stream(stream));
  EXPECT(!dropped_task_ran);
  bool ran_inline = false;
  rt::enqueue(stream, [&] { ran_inline = true; });
  EXPECT(ran_inline);
  rt::shutdown();  // idempotent
}

}  // namespace

int main() {
  const std::pair<const char*, void (*)()> tests[] = {
      {"work_runs_in_order_off_the_calling_thread", work_runs_in_order_off_the_calling_thread},
      {"query_and_synchronize_follow_pending_work", query_and_synchronize_follow_pending_work},
      {"busy_periods_on_one_stream_add_up_and_streams_overlap",
       busy_periods_on_one_stream_add_up_and_streams_overlap},
      {"events_complete_when_the_stream_reaches_them",
       events_complete_when_the_stream_reaches_them},
      {"waiting_on_an_event_holds_back_later_work", waiting_on_an_event_holds_back_later_work},
      {"device_synchronize_waits_for_every_stream_of_the_device",
       device_synchronize_waits_for_every_stream_of_the_device},
      {"destroyed_events_are_freed_once_queued_work_is_done",
       destroyed_events_are_freed_once_queued_work_is_done},
      {"task_errors_surface_at_the_next_synchronize", task_errors_surface_at_the_next_synchronize},
      {"bad_arguments_are_refused", bad_arguments_are_refused},
      {"current_device_and_streams_are_per_thread", current_device_and_streams_are_per_thread},
      {"graphs_capture_work_and_replay_it", graphs_capture_work_and_replay_it},
      {"kept_graphs_need_instantiating", kept_graphs_need_instantiating},
      {"memory_has_a_capacity_and_counts_blocks", memory_has_a_capacity_and_counts_blocks},
      {"freeing_waits_for_recorded_streams_and_pins", freeing_waits_for_recorded_streams_and_pins},
      {"pinned_host_blocks_are_host_memory", pinned_host_blocks_are_host_memory},
      {"tasks_pinning_memory_from_many_threads", tasks_pinning_memory_from_many_threads},
      {"many_threads_share_streams_and_events", many_threads_share_streams_and_events},
      {"shutdown_drops_queued_work_and_runs_later_work_inline",
       shutdown_drops_queued_work_and_runs_later_work_inline},
  };
  for (const auto& [name, test] : tests) {
    const int before = failures;
    test();
    std::printf("%s %s\n", failures == before ? "ok  " : "FAIL", name);
  }
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
