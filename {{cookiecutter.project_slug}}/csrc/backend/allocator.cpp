#include "backend/allocator.h"

#include <c10/core/CachingDeviceAllocator.h>

#include "backend/common.h"
#include "backend/torch_version.h"

namespace fakedevice {
namespace {

// The deleter of device and pinned host blocks alike: both are the runtime's.
void free_runtime_block(void* ptr) {
  runtime::deallocate(ptr);
}

c10::CachingDeviceAllocator::DeviceStats to_torch_stats(const runtime::MemoryStats& m) {
  using c10::CachingAllocator::StatType;
  c10::CachingDeviceAllocator::DeviceStats stats;
  // Every block is its own segment: nothing is cached, split or inactive.
  for (auto* counts : {&stats.allocation, &stats.segment, &stats.active}) {
    auto& all = (*counts)[static_cast<size_t>(StatType::AGGREGATE)];
    all.current = static_cast<int64_t>(m.blocks);
    all.peak = static_cast<int64_t>(m.peak_blocks);
    all.allocated = static_cast<int64_t>(m.allocations);
    all.freed = static_cast<int64_t>(m.frees);
  }
  for (auto* bytes :
       {&stats.allocated_bytes,
        &stats.reserved_bytes,
        &stats.active_bytes,
        &stats.requested_bytes}) {
    auto& all = (*bytes)[static_cast<size_t>(StatType::AGGREGATE)];
    all.current = static_cast<int64_t>(m.allocated);
    all.peak = static_cast<int64_t>(m.peak_allocated);
    all.allocated = static_cast<int64_t>(m.total_allocated);
    all.freed = static_cast<int64_t>(m.total_freed);
  }
  stats.num_ooms = static_cast<int64_t>(m.out_of_memory_errors);
  stats.num_device_alloc = static_cast<int64_t>(m.allocations);
  stats.num_device_free = static_cast<int64_t>(m.frees);
  return stats;
}

class DeviceAllocator final : public c10::DeviceAllocator {
 public:
  // torch allocates under a DeviceGuard for the tensor's device.
  c10::DataPtr allocate(size_t bytes) override {
    const int device = runtime::current_device();
    void* ptr = nullptr;
    try {
      ptr = runtime::allocate(device, bytes);
    } catch (const runtime::OutOfMemory& error) {
      // torch.OutOfMemoryError in Python, as for CUDA.
      TORCH_CHECK_WITH(OutOfMemoryError, false, error.what());
    }
    return {
        ptr,
        ptr,
        &free_runtime_block,
        c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device))};
  }

  c10::DeleterFnPtr raw_deleter() const override {
    return &free_runtime_block;
  }

  // Storage copies (e.g. when torch clones a storage): the caller has
  // synchronized, and device memory is host memory.
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  bool initialized() override {
    return true;
  }

  // Nothing is cached: every free goes straight back to the host.
  void emptyCache(c10::MempoolId_t /*mempool_id*/) override {}

  void recordStream(const c10::DataPtr& data, c10::Stream stream) override {
    record_data_ptr_on_stream(data, stream);
  }

  c10::CachingDeviceAllocator::DeviceStats getDeviceStats(c10::DeviceIndex device) override {
    return to_torch_stats(runtime::memory_stats(resolve_device(device)));
  }

  void resetAccumulatedStats(c10::DeviceIndex device) override {
    runtime::reset_accumulated_memory(resolve_device(device));
  }

  void resetPeakStats(c10::DeviceIndex device) override {
    runtime::reset_peak_memory(resolve_device(device));
  }

#if FAKEDEVICE_TORCH_AT_LEAST(2, 13)
  // torch.accelerator.get_memory_info, from torch 2.13 on: (free, total).
  std::pair<size_t, size_t> getMemoryInfo(c10::DeviceIndex device) override {
    const runtime::MemoryStats stats = runtime::memory_stats(resolve_device(device));
    return {stats.free_bytes(), stats.capacity};
  }
#endif
};

DeviceAllocator the_device_allocator;

class PinnedHostAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) override {
    void* ptr = runtime::allocate_host(bytes);
    return {ptr, ptr, &free_runtime_block, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override {
    return &free_runtime_block;
  }

  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

PinnedHostAllocator the_pinned_allocator;

}  // namespace

c10::Allocator* device_allocator() {
  return &the_device_allocator;
}

void record_data_ptr_on_stream(const c10::DataPtr& data, const c10::Stream& stream) {
  if (data.get() != nullptr) {
    runtime::record_stream(data.get(), from_torch(stream));
  }
}

c10::Allocator* pinned_host_allocator() {
  return &the_pinned_allocator;
}

bool is_pinned_host_pointer(const void* ptr) {
  return runtime::is_host_block(ptr);
}

REGISTER_ALLOCATOR(c10::DeviceType::MTIA, &the_device_allocator);

}  // namespace fakedevice
