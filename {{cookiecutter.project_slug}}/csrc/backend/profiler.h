// The device in torch.profiler: what ran on each stream, when, and which
// operator queued it.
//
// torch.profiler.profile(activities=[ProfilerActivity.CPU,
// ProfilerActivity.MTIA]) drives kineto, PyTorch's tracing library, and
// kineto runs "child profilers" (libkineto::IActivityProfiler, the interface
// its accelerator plugins use; the headers ship in torch/include/kineto).
// profiler.cpp registers one when the extension loads. While a trace that
// asks for MTIA activities runs, it:
// - turns on the driver's activity tracing (driver::activity_enable), which
//   records when each queued copy, memset, kernel, busy period, event wait
//   and event record ran, on which stream;
// - hands the driver the correlation id of the innermost operator running on
//   each thread (kineto forwards torch's pushCorrelationId/popCorrelationId to
//   its child sessions), so that each piece of work knows the operator that
//   queued it (driver::set_correlation_id);
// - at the end, turns the records into kineto activities: one lane per
//   device stream (process "<device type>:<index>", thread "stream <id>"),
//   each slice named as the driver names the work ("memcpy host to device",
//   "copy_", ...), linked to its operator (the chrome trace's "External id",
//   torch's linked_correlation_id) and drawn from it by a flow arrow, which
//   starts at a zero-length host-side marker named after the driver call
//   ("memcpy_async", "launch_kernel", ...) placed at the operator's start.
//
// torch counts these activities as MTIA device time (key_averages()'s
// "Self MTIA" column); the package's _profiler.py adds what torch's own
// post-processing leaves out for MTIA (device time of the operators that
// queued the work, and device memory in profile_memory tables).
//
// Nothing is recorded, and nothing costs, while no such trace runs.
#pragma once

namespace fakedevice {

// Registers the child profiler with kineto. Runs once, when the extension
// loads (a static initialiser in profiler.cpp); safe to call again.
void register_device_profiler();

}  // namespace fakedevice
