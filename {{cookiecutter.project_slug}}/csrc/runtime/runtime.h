// The emulated device runtime: devices, the current device, streams and
// events. It plays the part a vendor's driver library plays for a real
// backend and knows nothing of torch; csrc/backend/ adapts it to PyTorch.
//
// Every function that takes a device index or an id checks it first and
// throws runtime::Error, naming what is wrong. Error derives from
// std::runtime_error, which torch's bindings report as a Python RuntimeError.
#pragma once

#include <cstdint>
#include <stdexcept>

namespace fakedevice::runtime {

// The runtime keeps fixed-size per-device tables of this size. The template's
// answer check (hooks/answer_rules.py, MAX_DEVICE_COUNT) must agree.
inline constexpr int kMaxDevices = 16;

using StreamId = int64_t;
// 0 is never a valid event: torch uses a null event pointer for "not created".
using EventId = uint64_t;

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

// Devices. The current device is per thread and starts at 0.
int device_count() noexcept;
void check_device(int device);
int current_device() noexcept;
void set_current_device(int device);

// Streams. The current stream is per thread and per device, and starts as the
// device's default stream.
Stream default_stream(int device);
Stream new_stream(int device);
Stream pool_stream(int device);  // round-robin over a small fixed pool
void check_stream(Stream stream);
Stream current_stream(int device);
// Makes `stream` current on its device and returns the stream it replaces.
Stream exchange_stream(Stream stream);
bool query_stream(Stream stream);
void synchronize_stream(Stream stream);
void synchronize_device(int device);

// Events. An event belongs to the device it was created on.
EventId create_event(int device, bool enable_timing);
void destroy_event(EventId event) noexcept;  // unknown ids are ignored
int event_device(EventId event);
// Marks the point in `stream` that the event completes at.
void record_event(EventId event, Stream stream);
// Work submitted to `stream` after this call starts only once the event's
// most recent record has completed.
void stream_wait_event(Stream stream, EventId event);
bool query_event(EventId event);
void synchronize_event(EventId event);
// Milliseconds from `start` completing to `end` completing; both events must
// have timing enabled and have completed.
double elapsed_ms(EventId start, EventId end);

}  // namespace fakedevice::runtime
