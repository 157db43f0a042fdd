// What only the emulated device has, beside the driver API it implements
// (driver/driver.h): a settable memory capacity, counters for leak tests,
// injected faults, and its own shutdown. The package's Python functions reach
// these through emulator/python.cpp; a port to real hardware drops them.
#pragma once

#include <cstddef>
#include <string>

#include "driver/driver.h"

namespace fakedevice::emulator {

// The emulator keeps fixed-size per-device tables of this size. The template's
// answer check (hooks/answer_rules.py, MAX_DEVICE_COUNT) must agree.
inline constexpr int kMaxDevices = 16;

// Queues work that fails when the stream reaches it, as a kernel that hits a
// device-side assert would: the next synchronize of the device reports
// `message` as an asynchronous error. For tests of that reporting.
driver::Status queue_fault(driver::Stream stream, std::string message);

// The device's memory capacity, which malloc() refuses to exceed. Blocks
// already allocated stay when it shrinks.
driver::Status set_memory_capacity(int device, std::size_t bytes);
driver::Status memory_capacity(int device, std::size_t* bytes);

// Events whose memory is still held: not destroyed, or still named by queued
// work. For leak checks.
std::size_t live_event_count() noexcept;
// Worker threads alive now; they are bounded however many streams have work.
int worker_thread_count() noexcept;
// The most worker threads the emulator starts.
int max_worker_threads() noexcept;

// Drops queued work, cuts busy periods and waits short, wakes every waiter
// and waits (a few seconds at most) for running work. Idempotent; runs at
// process exit. Afterwards work runs on the submitting thread.
void shutdown() noexcept;

}  // namespace fakedevice::emulator
