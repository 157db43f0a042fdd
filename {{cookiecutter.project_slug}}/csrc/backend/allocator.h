// The device allocator: torch allocates every tensor on the device through it
// (at::GetAllocator(MTIA)), and torch.accelerator's memory API reads its
// statistics. Blocks come from the runtime's device memory.
#pragma once

#include <c10/core/Allocator.h>
#include <c10/core/Stream.h>

namespace fakedevice {

// The allocator registered for the MTIA device type.
c10::Allocator* device_allocator();

// Keeps the block alive until work queued so far on `stream` has finished
// (DeviceGuardImplInterface::recordDataPtrOnStream).
void record_data_ptr_on_stream(const c10::DataPtr& data, const c10::Stream& stream);

// Host memory that torch treats as pinned (tensor.pin_memory()): the
// runtime's pinned host blocks, which asynchronous copies may use.
c10::Allocator* pinned_host_allocator();
bool is_pinned_host_pointer(const void* ptr);

}  // namespace fakedevice
