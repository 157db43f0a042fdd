// The driver API: everything the PyTorch glue (csrc/backend/) asks of the
// device. A port to real hardware implements this header over its vendor
// runtime; csrc/emulator/ implements it with host memory and threads, and
// csrc/skeleton/ is the empty implementation to start a port from.
//
// It is shaped like the CUDA runtime, and each call names its CUDA
// equivalent. It knows nothing of torch or Python. Conventions:
// - Every call returns a Status; kSuccess is 0. A failed call changes
//   nothing, and last_error_message() says what was wrong (naming the
//   device, stream or pointer), for the glue to report (backend/check.h).
// - Every call checks its arguments (device indices, handles) first: the glue
//   passes them straight from user code.
// - Every call is safe from any thread. The current device is per thread, as
//   cudaSetDevice's is; the current stream is torch's notion and lives in the
//   glue (backend/streams.cpp).
// - Work submitted to a stream (copies, memsets, kernels, event records and
//   waits) runs in order, asynchronously: the call returns at once. A copy
//   or memset on a stream with nothing queued may have run by then (the
//   emulator runs those, and kernels marked short_host_code, on the calling
//   thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fakedevice::driver {

// ---- Errors.
enum class Status : int {
  kSuccess = 0,
  kNotReady,                    // cudaErrorNotReady: work is pending (from the query calls)
  kInvalidValue,                // cudaErrorInvalidValue
  kInvalidDevice,               // cudaErrorInvalidDevice
  kInvalidHandle,               // cudaErrorInvalidResourceHandle: unknown stream, event or graph
  kOutOfMemory,                 // cudaErrorMemoryAllocation
  kNotPermittedWhileCapturing,  // cudaErrorStreamCaptureUnsupported
  kCaptureInvalidated,          // cudaErrorStreamCaptureInvalidated
  kIllegalState,                // cudaErrorIllegalState: e.g. replaying a graph never captured
  kAsynchronousFailure,         // cudaErrorLaunchFailure: earlier work on the device failed
  kNotSupported,                // cudaErrorNotSupported
  kUnavailableAfterFork,        // cudaErrorInitializationError in a forked child
  kInternal,                    // cudaErrorUnknown
};

// "kOutOfMemory", ... (cudaGetErrorName).
const char* status_name(Status status) noexcept;
// What the last call on this thread that failed was told, in one line.
std::string last_error_message();

// ---- Devices.
int device_count() noexcept;     // cudaGetDeviceCount; never fails
Status get_device(int* device);  // cudaGetDevice: the calling thread's device, initially 0
Status set_device(int device);   // cudaSetDevice

struct DeviceProperties {  // cudaGetDeviceProperties
  std::string name;
  std::size_t total_memory = 0;
  int major = 0;  // compute capability
  int minor = 0;
  // The host can read and write device memory through device pointers
  // (cudaDevAttrPageableMemoryAccess, unified memory). The glue then runs
  // the operators it has no device kernel for on the host, in place,
  // without copies (backend/host_compute.h); without it, it copies.
  bool host_addressable = false;
};
Status get_device_properties(int device, DeviceProperties* properties);

// Blocks until all work submitted to the device's streams before the call has
// finished (cudaDeviceSynchronize). Reports kAsynchronousFailure once for an
// error raised by that work.
Status device_synchronize(int device);

// ---- Streams. A stream is a device index and an id. Every device has a
// default stream, id 0 (cudaStreamLegacy); stream_create makes others.
using StreamId = int64_t;
inline constexpr StreamId kDefaultStreamId = 0;
struct Stream {
  int device;
  StreamId id;
};

Status stream_create(int device, Stream* stream);  // cudaStreamCreate
// kSuccess if the stream exists on its device (cudaStreamGetDevice).
Status stream_check(Stream stream);
// kSuccess when all submitted work has finished, else kNotReady (cudaStreamQuery).
Status stream_query(Stream stream);
Status stream_synchronize(Stream stream);                    // cudaStreamSynchronize
Status stream_is_capturing(Stream stream, bool* capturing);  // cudaStreamIsCapturing

// ---- Events. An opaque handle; events belong to a device.
struct EventState;
using Event = EventState*;
enum EventFlags : unsigned {
  kEventDefault = 0,        // with timing (cudaEventDefault)
  kEventDisableTiming = 1,  // cudaEventDisableTiming
};
Status event_create(int device, unsigned flags, Event* event);  // cudaEventCreateWithFlags
// Releases the handle; work already submitted that names the event still
// completes (cudaEventDestroy). Null is ignored.
Status event_destroy(Event event);
// The event completes when the stream reaches this point (cudaEventRecord).
Status event_record(Event event, Stream stream);
// Work submitted to `stream` later starts only once the event's latest record
// has completed (cudaStreamWaitEvent). An event never recorded is complete.
Status stream_wait_event(Stream stream, Event event);
Status event_query(Event event);        // kSuccess or kNotReady (cudaEventQuery)
Status event_synchronize(Event event);  // cudaEventSynchronize
// Milliseconds between two completed records of events made with timing
// (cudaEventElapsedTime).
Status event_elapsed_time(Event start, Event end, double* milliseconds);

// ---- Memory.
// Device memory (cudaMalloc). Zero bytes gives null. kOutOfMemory names what
// was asked and what is free.
Status malloc(int device, std::size_t bytes, void** pointer);
// Stream-ordered release: the memory is reused only after the work already
// submitted to any stream that uses it has finished (cudaFreeAsync). Null is
// ignored.
Status free(void* pointer);
// Page-locked host memory that copies may run from asynchronously
// (cudaHostAlloc / cudaFreeHost).
Status host_alloc(std::size_t bytes, void** pointer);
Status host_free(void* pointer);

struct MemoryInfo {  // cudaMemGetInfo
  std::size_t free = 0;
  std::size_t total = 0;
};
Status mem_get_info(int device, MemoryInfo* info);

enum class MemoryType { kUnregistered, kHost, kDevice };  // cudaMemoryType
struct PointerAttributes {  // cudaPointerGetAttributes, cuMemGetAddressRange
  MemoryType type = MemoryType::kUnregistered;
  int device = -1;        // for kDevice
  void* base = nullptr;   // the start of the allocation holding the pointer
  std::size_t bytes = 0;  // its size
};
// Any address inside a block counts. Never fails for a valid address.
Status pointer_get_attributes(const void* pointer, PointerAttributes* attributes);

enum class MemcpyKind { kHostToDevice, kDeviceToHost, kDeviceToDevice };  // cudaMemcpyKind
// Copies `bytes` in stream order (cudaMemcpyAsync). Host memory not from
// host_alloc must stay valid until the copy has run: the caller synchronizes.
Status memcpy_async(void* dst, const void* src, std::size_t bytes, MemcpyKind kind, Stream stream);
// Sets `bytes` of device memory to `value` in stream order (cudaMemsetAsync).
Status memset_async(void* dst, int value, std::size_t bytes, Stream stream);

// Marks device memory as used by `stream`: free() then waits for the work
// submitted to it so far (what the CUDA caching allocator does with events
// for tensor.record_stream).
Status memory_record_stream(void* pointer, Stream stream);

// ---- Kernels. A kernel as the emulator runs it: host code over device
// memory (needs host_addressable). A real driver launches its compiled
// kernels here (cudaLaunchKernel) and the glue's kernels.cpp calls them.
struct Kernel {
  std::string name;           // shown in traces
  std::function<void()> run;  // must not hold torch tensors (see backend/kernels.h)
  // Device and host_alloc memory the kernel reads or writes: kept allocated
  // until it has run.
  std::vector<const void*> uses;
  // A hint: the kernel is short host code (a copy, a fill) that never waits
  // for anything. The emulator then runs it on the calling thread when the
  // stream has nothing queued, as it does copies and memsets; a real driver
  // ignores it.
  bool short_host_code = false;
};
Status launch_kernel(Kernel kernel, Stream stream);

// Keeps the stream busy for `nanoseconds` (>= 0) before its later work runs:
// a kernel that spins, as torch.cuda._sleep launches on CUDA. It exists for
// tests: a busy stream shows work that runs before what it waits for.
Status launch_sleep_kernel(Stream stream, int64_t nanoseconds);

// ---- Graphs: the work submitted to one stream between begin and end of a
// capture, replayed as a unit (cudaStreamBeginCapture, cudaStreamEndCapture,
// cudaGraphInstantiate, cudaGraphLaunch). While a stream captures, its work
// is stored, not run, and synchronizing or querying it is refused; so is a
// copy from or to memory that the replay could not reach (pageable host
// memory). A refused call invalidates the capture: end_capture then fails.
using Graph = int64_t;
// `keep_graph`: end_capture() leaves the graph to instantiate explicitly.
Status graph_create(bool keep_graph, Graph* graph);
Status graph_begin_capture(Graph graph, Stream stream);
Status graph_end_capture(Graph graph);
Status graph_instantiate(Graph graph);
// Submits the captured work to `stream`, which must be on the capture's
// device, in capture order.
Status graph_launch(Graph graph, Stream stream);
Status graph_reset(Graph graph);    // forget the capture; the graph can capture again
Status graph_destroy(Graph graph);  // unknown graphs are ignored

// ---- Inter-process memory (cudaIpcGetMemHandle, cudaIpcOpenMemHandle,
// cudaIpcCloseMemHandle): device memory another process can map.
struct IpcMemHandle {
  int fd = -1;             // a file descriptor the other process receives (SCM_RIGHTS)
  std::size_t offset = 0;  // of the pointer within the shared block
  std::size_t bytes = 0;   // of the shared block
  int device = -1;
};
// Fails with kNotSupported for memory that is not shareable; the glue then
// moves the data into memory from malloc_shareable first. kIllegalState: not
// shareable, and queued work or a captured graph uses it (it cannot move).
Status ipc_get_mem_handle(const void* pointer, IpcMemHandle* handle);
// Device memory that ipc_get_mem_handle can share (cudaMalloc: all of it).
Status malloc_shareable(int device, std::size_t bytes, void** pointer);
// Maps another process's block; the pointer is `handle.offset` into it.
// The mapping is released with free().
Status ipc_open_mem_handle(const IpcMemHandle& handle, void** pointer);

// ---- Activity tracing, for the profiler (CUPTI's activity API).
enum class ActivityKind { kKernel, kMemcpy, kMemset, kSleep, kWait, kRecord };
struct ActivityRecord {
  ActivityKind kind;
  std::string name;
  int device;
  StreamId stream;
  int64_t start_ns;  // steady clock, as std::chrono::steady_clock counts
  int64_t end_ns;
  uint64_t correlation;  // from set_correlation_id on the submitting thread
  std::size_t bytes;     // memcpy and memset
};
// While enabled, the driver records each piece of submitted work when it has
// run. Costs nothing while disabled.
Status activity_enable(bool enabled);
// Moves the records gathered so far into `records`.
Status activity_flush(std::vector<ActivityRecord>* records);
// Tags work submitted by this thread from now on (cuptiActivityPushExternalCorrelationId).
void set_correlation_id(uint64_t correlation) noexcept;

}  // namespace fakedevice::driver
