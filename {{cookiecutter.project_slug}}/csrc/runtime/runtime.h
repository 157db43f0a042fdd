// The emulated device runtime: devices, the current device, streams, events
// and the work queued on streams. It plays the part a vendor's driver plays
// for a real backend and knows nothing of torch; csrc/backend/ adapts it to
// PyTorch. Its own tests are in csrc/runtime/tests/.
//
// Execution model, as on a real device:
// - Each stream is a FIFO queue. Work on it runs in order on a runtime thread,
//   never on the thread that submitted it; work on different streams overlaps.
// - A stream with nothing queued costs nothing: no thread, no allocation.
//   Recording an event on such a stream completes the event at once, and
//   while no stream has work queued, queries and synchronizes take no lock.
// - Waiting (wait on an event, synchronize) blocks only what it must.
//
// Every function that takes a device index or an id checks it first and
// throws runtime::Error, naming what is wrong. Error derives from
// std::runtime_error, which torch's bindings report as a Python RuntimeError.
// Every function is safe to call from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace fakedevice::runtime {

// The runtime keeps fixed-size per-device tables of this size. The template's
// answer check (hooks/answer_rules.py, MAX_DEVICE_COUNT) must agree.
inline constexpr int kMaxDevices = 16;

using StreamId = int64_t;

// An event is an opaque handle, as a driver's event is: valid from
// create_event() until destroy_event(), and never null (torch uses a null
// event for "not created yet").
struct EventState;
using Event = EventState*;

// Every device's default stream has id 0; streams made by new_stream() or
// pool_stream() have ids > 0, unique across all devices.
inline constexpr StreamId kDefaultStreamId = 0;

struct Stream {
  int device;
  StreamId id;
};

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An allocation larger than the device's free memory.
class OutOfMemory : public Error {
 public:
  OutOfMemory(const std::string& message, std::size_t requested, std::size_t free_bytes)
      : Error(message), requested(requested), free_bytes(free_bytes) {}
  const std::size_t requested;
  const std::size_t free_bytes;
};

// ---- Devices. The current device is per thread and starts at 0.
int device_count() noexcept;
void check_device(int device);
int current_device() noexcept;
void set_current_device(int device);
// Makes `device` current and returns the device it replaces.
int exchange_device(int device);

// ---- Streams. The current stream is per thread and per device, and starts
// as the device's default stream.
Stream default_stream(int device);
Stream new_stream(int device);
Stream pool_stream(int device);  // round-robin over a small fixed pool
void check_stream(Stream stream);
Stream current_stream(int device);
// Makes `stream` current on its device and returns the stream it replaces.
Stream exchange_stream(Stream stream);

// ---- Work. Both return at once; the work runs when the stream reaches it.
// A busy period: the stream does nothing else for `duration`.
void sleep(Stream stream, std::chrono::nanoseconds duration);
// Runs `task` on a runtime thread. If it throws, the error is reported by the
// next synchronize on the same device.
void enqueue(Stream stream, std::function<void()> task);

// True when everything submitted to the stream so far has finished.
bool query_stream(Stream stream);
// Blocks until everything submitted to the stream before the call finishes.
void synchronize_stream(Stream stream);
// Blocks until everything submitted to the device's streams before the call
// finishes.
void synchronize_device(int device);

// ---- Events. An event belongs to the device it was created on. Passing a
// destroyed event is undefined, as with a driver; torch never does.
Event create_event(int device, bool enable_timing);
// Releases the handle; work already queued that records or waits on the
// event still completes, and the memory goes once it has. Null is ignored.
void destroy_event(Event event) noexcept;
int event_device(Event event);
// The event completes, with a timestamp, when the stream reaches this point.
void record_event(Event event, Stream stream);
// Work submitted to `stream` after this call starts only once the event's
// latest record (as of this call) has completed.
void stream_wait_event(Stream stream, Event event);
// True when the event's latest record has completed (or it was never recorded).
bool query_event(Event event);
void synchronize_event(Event event);
// Milliseconds from `start` completing to `end` completing; both events must
// have timing enabled and have completed.
double elapsed_ms(Event start, Event end);

// ---- Memory: host memory standing in for device memory, with a capacity
// per device (device_config.h sets the default), and pinned host memory.
// A block of `bytes` on the device; null for 0 bytes. Throws OutOfMemory when
// the device's capacity would be exceeded.
void* allocate(int device, std::size_t bytes);
// A block of page-locked host memory, as a driver's pinned memory: copies
// from and to it may run asynchronously. Counted against no device.
void* allocate_host(std::size_t bytes);
// Frees the block once every stream it was recorded on (record_stream) has
// finished the work queued on it so far, and no BlockPin holds it. Null is
// ignored.
void deallocate(void* ptr) noexcept;
// Marks the block as used by work on `stream`.
void record_stream(void* ptr, Stream stream);
// The device whose block holds `ptr` (any address inside a block), or -1 for
// host memory.
int device_of_pointer(const void* ptr) noexcept;
// True for an address inside a block from allocate_host.
bool is_host_block(const void* ptr) noexcept;

// Keeps the block that holds an address from being freed while any copy of
// the pin lives: queued and captured work holds pins on the memory it uses.
// Empty (false) for an address in no block.
class BlockPin {
 public:
  BlockPin() = default;
  explicit BlockPin(const void* ptr) noexcept;
  BlockPin(const BlockPin& other) noexcept;
  BlockPin(BlockPin&& other) noexcept;
  BlockPin& operator=(BlockPin other) noexcept;
  ~BlockPin();
  explicit operator bool() const {
    return block_ != 0;
  }

 private:
  std::uintptr_t block_ = 0;  // start address of the block, 0 if none
};

struct MemoryStats {
  std::size_t capacity = 0;        // bytes the device may hold
  std::size_t allocated = 0;       // bytes in blocks not yet freed
  std::size_t peak_allocated = 0;  // highest `allocated` since the last reset
  std::size_t blocks = 0;          // blocks not yet freed
  std::size_t peak_blocks = 0;
  std::size_t total_allocated = 0;  // bytes ever allocated (since a reset)
  std::size_t total_freed = 0;
  std::size_t allocations = 0;  // blocks ever allocated (since a reset)
  std::size_t frees = 0;
  std::size_t out_of_memory_errors = 0;

  // Bytes the device can still allocate.
  std::size_t free_bytes() const {
    return capacity > allocated ? capacity - allocated : 0;
  }
};
MemoryStats memory_stats(int device);
// Peaks restart from the current values.
void reset_peak_memory(int device);
// Totals (allocated, freed, counts, out-of-memory errors) restart from 0.
void reset_accumulated_memory(int device);
// Changes the device's capacity; blocks already allocated stay, and new ones
// fail while they would exceed it.
void set_memory_capacity(int device, std::size_t bytes);

// ---- Graphs: work captured from a stream once, replayed as a unit.
// While a stream captures, work submitted to it (busy periods, tasks, event
// records and waits) is stored in the graph instead of running, and querying
// or synchronizing the stream is an error, as on a real device.
using GraphId = int64_t;
// `keep_graph`: keep the capture after end_capture() so that instantiate()
// can be called explicitly; otherwise end_capture() instantiates at once.
GraphId create_graph(bool keep_graph);
void begin_capture(GraphId graph, Stream stream);
void end_capture(GraphId graph);
bool is_capturing(Stream stream);
void instantiate_graph(GraphId graph);
// Queues the captured work on `stream`, in capture order. Event records and
// waits refer to each event's state at replay time.
void replay_graph(GraphId graph, Stream stream);
// Forgets the captured work; the graph can capture again.
void reset_graph(GraphId graph);
// Unknown ids are ignored.
void destroy_graph(GraphId graph) noexcept;

// ---- Lifetime.
// Events whose memory is still held: not destroyed, or still named by queued
// work. For leak checks.
std::size_t live_event_count() noexcept;
// Drops queued work, cuts busy periods and waits short, wakes every waiter and
// waits for running tasks. Idempotent; runs at process exit. Afterwards
// nothing runs asynchronously any more: new work is refused.
void shutdown() noexcept;

}  // namespace fakedevice::runtime
