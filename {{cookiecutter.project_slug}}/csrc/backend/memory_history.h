// Memory history for the snapshot viewer (pytorch.org/memory_viz), as the
// CUDA caching allocator keeps it: torch.mtia.record_memory_history(),
// torch.mtia.snapshot() and torch.mtia.attach_out_of_memory_observer()
// reach these through the MTIA hooks (hooks.cpp).
//
// - The blocks torch holds on each device are always known (one table entry
//   per block, kept by the allocator's calls below), so a snapshot lists
//   every live block, as CUDA's lists every segment. The allocator caches
//   nothing: each block is its own segment.
// - While history is recorded ("state" or "all"), each new block keeps the
//   stack that allocated it (Python frames, C++ frames or both, as `stacks`
//   asks; Python frames only on a thread that holds the GIL). With "all",
//   each device also keeps a trace of what the allocator did: alloc,
//   free_requested and free_completed, segment_alloc and segment_free
//   (every block is a segment), and oom, with times and stacks;
//   `max_entries` bounds it (0: no bound), dropping the oldest entries.
// - torch.mtia.snapshot() returns the dictionary torch.cuda.memory._snapshot()
//   returns: {"segments": [...], "device_traces": [[...] per device]}.
// - Out-of-memory observers are called as observer(device, requested bytes,
//   bytes torch holds on the device, bytes the device has free), before the
//   allocation raises torch.OutOfMemoryError; an exception an observer
//   raises is reported as unraisable and the allocation still raises.
#pragma once

#include <Python.h>

#include <cstddef>
#include <optional>
#include <string>

namespace fakedevice::memory_history {

// The allocator's calls (allocator.cpp), after a block is allocated, before
// it is freed, and when the driver refused an allocation.
void record_alloc(int device, void* pointer, std::size_t bytes);
void record_free(int device, void* pointer, std::size_t bytes);
void record_out_of_memory(int device, std::size_t bytes);

// torch.mtia.record_memory_history(enabled, stacks, max_entries): enabled is
// None (stop), "state" or "all"; stacks "python", "cpp" or "all". GIL held.
void record_history(
    const std::optional<std::string>& enabled, const std::string& stacks, std::size_t max_entries);

// torch.mtia.snapshot(): a new reference to the snapshot dictionary, also
// pickled to `path` when one is given (torch's MTIA memory profiler passes
// one). GIL held.
PyObject* snapshot(const std::optional<std::string>& path);

// torch.mtia.attach_out_of_memory_observer(observer). GIL held.
void attach_out_of_memory_observer(PyObject* observer);

}  // namespace fakedevice::memory_history
