// The device allocator: torch allocates every tensor on the device through it
// (at::GetAllocator(MTIA)), and torch.accelerator's and torch.mtia's memory
// APIs read its statistics. It keeps no cache: every block comes from the
// driver's malloc and goes back with its stream-ordered free. Also the
// pinned host allocator (tensor.pin_memory(), torch.accelerator's host
// memory API).
#pragma once

#include <c10/core/Allocator.h>
#include <c10/core/Stream.h>

#include <cstddef>

namespace fakedevice {

// The allocator registered for the MTIA device type.
c10::Allocator* device_allocator();

// A block of device memory as a DataPtr whose device is `reported_as` (the
// device itself, or the CPU for memory handed to a host kernel, see
// host_compute.h). It is freed, and counted, as device memory.
c10::DataPtr allocate_device_memory(int device, std::size_t bytes, c10::Device reported_as);

// The deleter of device memory (and of DataPtrs from allocate_device_memory).
void free_device_memory(void* pointer);

// Statistics of the blocks torch holds, per device, as the CUDA caching
// allocator keeps them (torch.mtia.memory_stats, torch.accelerator.memory_stats).
struct MemoryStats {
  std::size_t allocated = 0;       // bytes in live blocks
  std::size_t peak_allocated = 0;  // highest `allocated` since the last reset
  std::size_t blocks = 0;          // live blocks
  std::size_t peak_blocks = 0;
  std::size_t total_allocated = 0;  // bytes ever allocated (since a reset)
  std::size_t total_freed = 0;
  std::size_t allocations = 0;  // blocks ever allocated (since a reset)
  std::size_t frees = 0;
  std::size_t out_of_memory_errors = 0;
};
MemoryStats memory_stats(int device);
void reset_peak_memory_stats(int device);
void reset_accumulated_memory_stats(int device);

// Keeps the block alive until work queued so far on `stream` has finished
// (DeviceGuardImplInterface::recordDataPtrOnStream).
void record_data_ptr_on_stream(const c10::DataPtr& data, const c10::Stream& stream);

// Host memory that torch treats as pinned (tensor.pin_memory()): the
// driver's page-locked host memory, which asynchronous copies may use.
c10::Allocator* pinned_host_allocator();
bool is_pinned_host_pointer(const void* pointer);

}  // namespace fakedevice
