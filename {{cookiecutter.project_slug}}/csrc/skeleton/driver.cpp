// The driver skeleton: driver/driver.h implemented by doing nothing, as the
// first commit of a port to real hardware. Build the glue against it instead
// of the emulator (`<PACKAGE>_DRIVER=skeleton`, or the loader's DEFAULT_DRIVER;
// tests/test_skeleton_driver.py does) and it loads: devices, streams and events work, every stream
// is always idle, and everything that needs memory or kernels fails with kNotSupported naming the
// function to write. Each function says what a real driver does there, with the CUDA runtime call
// it corresponds to.
//
// bench_stream_event.py also builds against it, to measure what torch and
// the glue cost with a driver that costs nothing.
#include <atomic>
#include <string>

#include "device_config.h"
#include "driver/driver.h"

namespace fakedevice::driver {

// A real driver's event object; here one shared, always-complete stand-in.
struct EventState {};

namespace {

thread_local int current_device_index = 0;
thread_local std::string last_error;
std::atomic<StreamId> next_stream_id{1};
EventState the_event;

Status not_supported(const char* what) {
  last_error = std::string("the skeleton driver does not implement ") + what +
               " yet: call your device's runtime in csrc/skeleton/driver.cpp";
  return Status::kNotSupported;
}

bool valid_device(int device) {
  if (device >= 0 && device < config::kDeviceCount) {
    return true;
  }
  last_error = "device index " + std::to_string(device) + " is out of range";
  return false;
}

}  // namespace

// Map each of your runtime's error codes to a Status (cudaGetErrorName).
const char* status_name(Status status) noexcept {
  return status == Status::kSuccess ? "kSuccess" : "an error";
}

// Your runtime's message for the last failure on this thread
// (cudaGetErrorString of cudaGetLastError), with the context you add.
std::string last_error_message() {
  return last_error;
}

// Ask the runtime how many devices it sees (cudaGetDeviceCount). Cache it:
// torch calls this often, and it must not fail.
int device_count() noexcept {
  return config::kDeviceCount;
}

// The runtime's per-thread current device (cudaGetDevice).
Status get_device(int* device) {
  *device = current_device_index;
  return Status::kSuccess;
}

// Make `device` current for the calling thread (cudaSetDevice).
Status set_device(int device) {
  if (!valid_device(device)) {
    return Status::kInvalidDevice;
  }
  current_device_index = device;
  return Status::kSuccess;
}

// Query name, memory, capability (cudaGetDeviceProperties). Set
// host_addressable only if the host can compute on device memory in place.
Status get_device_properties(int device, DeviceProperties* properties) {
  if (!valid_device(device)) {
    return Status::kInvalidDevice;
  }
  properties->name = "skeleton driver";
  properties->total_memory = 0;
  properties->major = config::kCapabilityMajor;
  properties->minor = config::kCapabilityMinor;
  properties->host_addressable = false;
  return Status::kSuccess;
}

// Wait for every stream of the device (cudaDeviceSynchronize), and report an
// error that earlier work raised.
Status device_synchronize(int device) {
  return valid_device(device) ? Status::kSuccess : Status::kInvalidDevice;
}

// Create a stream on the device (cudaStreamCreate) and encode your stream
// handle in `id` (torch keeps a 64-bit id; 0 is the default stream).
Status stream_create(int device, Stream* stream) {
  if (!valid_device(device)) {
    return Status::kInvalidDevice;
  }
  *stream = Stream{device, next_stream_id.fetch_add(1, std::memory_order_relaxed)};
  return Status::kSuccess;
}

// Check that `stream` names a stream of its device (cudaStreamGetDevice).
Status stream_check(Stream stream) {
  return valid_device(stream.device) ? Status::kSuccess : Status::kInvalidDevice;
}

// kSuccess if all work on the stream finished, else kNotReady (cudaStreamQuery).
Status stream_query(Stream /*stream*/) {
  return Status::kSuccess;
}

// Block until the stream's work finished (cudaStreamSynchronize).
Status stream_synchronize(Stream /*stream*/) {
  return Status::kSuccess;
}

// Whether the stream is capturing a graph (cudaStreamIsCapturing).
Status stream_is_capturing(Stream /*stream*/, bool* capturing) {
  *capturing = false;
  return Status::kSuccess;
}

// Create an event, with timing unless kEventDisableTiming (cudaEventCreateWithFlags).
Status event_create(int device, unsigned /*flags*/, Event* event) {
  if (!valid_device(device)) {
    return Status::kInvalidDevice;
  }
  *event = &the_event;
  return Status::kSuccess;
}

// Destroy the event once work naming it is done (cudaEventDestroy).
Status event_destroy(Event /*event*/) {
  return Status::kSuccess;
}

// Record the event on the stream (cudaEventRecord).
Status event_record(Event /*event*/, Stream /*stream*/) {
  return Status::kSuccess;
}

// Make later work on the stream wait for the event (cudaStreamWaitEvent).
Status stream_wait_event(Stream /*stream*/, Event /*event*/) {
  return Status::kSuccess;
}

// kSuccess if the event's last record completed, else kNotReady (cudaEventQuery).
Status event_query(Event /*event*/) {
  return Status::kSuccess;
}

// Block until the event completes (cudaEventSynchronize).
Status event_synchronize(Event /*event*/) {
  return Status::kSuccess;
}

// Milliseconds between two completed, timed events (cudaEventElapsedTime).
Status event_elapsed_time(Event /*start*/, Event /*end*/, double* milliseconds) {
  *milliseconds = 0.0;
  return Status::kSuccess;
}

// Allocate device memory (cudaMalloc); kOutOfMemory when it does not fit.
Status malloc(int /*device*/, std::size_t bytes, void** pointer) {
  *pointer = nullptr;
  return bytes == 0 ? Status::kSuccess : not_supported("malloc (cudaMalloc)");
}

// Release device memory once the work queued on it is done (cudaFreeAsync).
Status free(void* pointer) {
  return pointer == nullptr ? Status::kSuccess : not_supported("free (cudaFreeAsync)");
}

// Allocate page-locked host memory (cudaHostAlloc).
Status host_alloc(std::size_t bytes, void** pointer) {
  *pointer = nullptr;
  return bytes == 0 ? Status::kSuccess : not_supported("host_alloc (cudaHostAlloc)");
}

// Release page-locked host memory (cudaFreeHost).
Status host_free(void* pointer) {
  return pointer == nullptr ? Status::kSuccess : not_supported("host_free (cudaFreeHost)");
}

// Free and total device memory (cudaMemGetInfo).
Status mem_get_info(int device, MemoryInfo* info) {
  if (!valid_device(device)) {
    return Status::kInvalidDevice;
  }
  *info = MemoryInfo{};
  return Status::kSuccess;
}

// What memory a pointer is in, and its allocation (cudaPointerGetAttributes,
// cuMemGetAddressRange). Unknown pointers are unregistered host memory.
Status pointer_get_attributes(const void* /*pointer*/, PointerAttributes* attributes) {
  *attributes = PointerAttributes{};
  return Status::kSuccess;
}

// Copy in stream order (cudaMemcpyAsync).
Status memcpy_async(void*, const void*, std::size_t, MemcpyKind, Stream) {
  return not_supported("memcpy_async (cudaMemcpyAsync)");
}

// Set device memory in stream order (cudaMemsetAsync).
Status memset_async(void*, int, std::size_t, Stream) {
  return not_supported("memset_async (cudaMemsetAsync)");
}

// Keep memory until the stream's queued work is done (the caching
// allocator's recordStream, with events).
Status memory_record_stream(void* /*pointer*/, Stream /*stream*/) {
  return Status::kSuccess;
}

// Launch a kernel on the stream (cudaLaunchKernel). A real port launches
// device code; the glue's kernels.cpp is where it chooses which.
Status launch_kernel(Kernel /*kernel*/, Stream /*stream*/) {
  return not_supported("launch_kernel (cudaLaunchKernel)");
}

// Keep the stream busy for a while: a kernel that spins on the device's
// clock (torch.cuda._sleep launches one). The package's sleep() and the
// tests that need a busy stream use it.
Status launch_sleep_kernel(Stream /*stream*/, int64_t /*nanoseconds*/) {
  return not_supported("launch_sleep_kernel (a spin kernel, as torch.cuda._sleep)");
}

// ---- Graphs (torch.mtia.graph): the stream's work between begin and end of
// a capture, replayed as a unit.

// Make an empty graph handle (cudaGraphCreate). `keep_graph`: the capture is
// instantiated explicitly rather than at its end.
Status graph_create(bool /*keep_graph*/, Graph* /*graph*/) {
  return not_supported("graph_create (cudaGraphCreate)");
}
// Start recording the stream's work into the graph instead of running it
// (cudaStreamBeginCapture).
Status graph_begin_capture(Graph /*graph*/, Stream /*stream*/) {
  return not_supported("graph_begin_capture (cudaStreamBeginCapture)");
}
// Stop recording (cudaStreamEndCapture); fails if a refused call invalidated
// the capture.
Status graph_end_capture(Graph /*graph*/) {
  return not_supported("graph_end_capture (cudaStreamEndCapture)");
}
// Make the captured work launchable (cudaGraphInstantiate).
Status graph_instantiate(Graph /*graph*/) {
  return not_supported("graph_instantiate (cudaGraphInstantiate)");
}
// Submit the captured work to a stream of the capture's device (cudaGraphLaunch).
Status graph_launch(Graph /*graph*/, Stream /*stream*/) {
  return not_supported("graph_launch (cudaGraphLaunch)");
}
// Forget the capture, keeping the handle (cudaGraphExecDestroy + cudaGraphDestroy).
Status graph_reset(Graph /*graph*/) {
  return not_supported("graph_reset (cudaGraphExecDestroy)");
}
// Release the handle (cudaGraphDestroy); unknown handles are ignored, as the
// glue destroys graphs from destructors.
Status graph_destroy(Graph /*graph*/) {
  return Status::kSuccess;
}

// ---- Inter-process memory (torch.multiprocessing with device tensors).

// A handle another process can open for the block holding `pointer`
// (cudaIpcGetMemHandle): on Linux, a file descriptor of the block.
Status ipc_get_mem_handle(const void* /*pointer*/, IpcMemHandle* /*handle*/) {
  return not_supported("ipc_get_mem_handle (cudaIpcGetMemHandle)");
}
// Device memory that ipc_get_mem_handle can share (cudaMalloc: all of it is).
Status malloc_shareable(int /*device*/, std::size_t /*bytes*/, void** /*pointer*/) {
  return not_supported("malloc_shareable (cudaMalloc)");
}
// Map another process's block into this one (cudaIpcOpenMemHandle).
Status ipc_open_mem_handle(const IpcMemHandle& /*handle*/, void** /*pointer*/) {
  return not_supported("ipc_open_mem_handle (cudaIpcOpenMemHandle)");
}

// ---- Activity tracing for the profiler (CUPTI's activity API).

// Start or stop recording when each piece of submitted work ran
// (cuptiActivityEnable). With nothing recorded, traces show no device lanes.
Status activity_enable(bool /*enabled*/) {
  return Status::kSuccess;
}
// Hand over the records gathered so far (cuptiActivityFlushAll).
Status activity_flush(std::vector<ActivityRecord>* /*records*/) {
  return Status::kSuccess;
}
// Tag work this thread submits from now on with the profiler's id of the
// operator that submits it (cuptiActivityPushExternalCorrelationId).
void set_correlation_id(uint64_t /*correlation*/) noexcept {}

}  // namespace fakedevice::driver
