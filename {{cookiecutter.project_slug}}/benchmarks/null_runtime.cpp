// A runtime that does nothing: every call returns at once, stream ids come
// from a plain counter, and every event is one shared, always-complete handle.
// bench_stream_event.py builds the backend against it to measure what PyTorch and the glue cost on
// their own, the baseline the emulated runtime is compared with.
#include <atomic>
#include <new>

#include "device_config.h"
#include "runtime/runtime.h"

namespace fakedevice::runtime {

struct EventState {};

namespace {
std::atomic<StreamId> next_stream{1};
EventState the_event;
}  // namespace

int device_count() noexcept {
  return config::kDeviceCount;
}
void check_device(int) {}
int current_device() noexcept {
  return 0;
}
void set_current_device(int) {}
int exchange_device(int) {
  return 0;
}
Stream default_stream(int device) {
  return Stream{device, kDefaultStreamId};
}
Stream new_stream(int device) {
  return Stream{device, next_stream++};
}
Stream pool_stream(int device) {
  return Stream{device, 1};
}
void check_stream(Stream) {}
Stream current_stream(int device) {
  return Stream{device, kDefaultStreamId};
}
Stream exchange_stream(Stream stream) {
  return Stream{stream.device, kDefaultStreamId};
}
void sleep(Stream, std::chrono::nanoseconds) {}
void enqueue(Stream, std::function<void()> task) {
  task();
}
bool query_stream(Stream) {
  return true;
}
void synchronize_stream(Stream) {}
void synchronize_device(int) {}
Event create_event(int, bool) {
  return &the_event;
}
void destroy_event(Event) noexcept {}
int event_device(Event) {
  return 0;
}
void record_event(Event, Stream) {}
void stream_wait_event(Stream, Event) {}
bool query_event(Event) {
  return true;
}
void synchronize_event(Event) {}
double elapsed_ms(Event, Event) {
  return 0.0;
}
void* allocate(int, std::size_t bytes) {
  return bytes == 0 ? nullptr : ::operator new(bytes);
}
void* allocate_host(std::size_t bytes) {
  return bytes == 0 ? nullptr : ::operator new(bytes);
}
void deallocate(void* ptr) noexcept {
  ::operator delete(ptr);
}
bool is_host_block(const void*) noexcept {
  return false;
}
BlockPin::BlockPin(const void*) noexcept {}
BlockPin::BlockPin(const BlockPin&) noexcept {}
BlockPin::BlockPin(BlockPin&&) noexcept {}
BlockPin& BlockPin::operator=(BlockPin) noexcept {
  return *this;
}
BlockPin::~BlockPin() = default;
void record_stream(void*, Stream) {}
int device_of_pointer(const void*) noexcept {
  return 0;
}
MemoryStats memory_stats(int) {
  return MemoryStats{};
}
void reset_peak_memory(int) {}
void reset_accumulated_memory(int) {}
void set_memory_capacity(int, std::size_t) {}
GraphId create_graph(bool) {
  return 1;
}
void begin_capture(GraphId, Stream) {}
void end_capture(GraphId) {}
bool is_capturing(Stream) {
  return false;
}
void instantiate_graph(GraphId) {}
void replay_graph(GraphId, Stream) {}
void reset_graph(GraphId) {}
void destroy_graph(GraphId) noexcept {}
std::size_t live_event_count() noexcept {
  return 0;
}
void shutdown() noexcept {}

}  // namespace fakedevice::runtime
