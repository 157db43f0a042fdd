#include "backend/allocator.h"

#include <ATen/core/CachingHostAllocator.h>
#include <c10/core/CachingDeviceAllocator.h>

#include <array>
#include <mutex>

#include "backend/common.h"
#include "backend/memory_history.h"
#include "backend/torch_version.h"

namespace fakedevice {
namespace {

struct DeviceStats {
  std::mutex mutex;
  MemoryStats stats;
};

std::array<DeviceStats, kMaxDevices>& all_stats() {
  // Never destroyed: tensors may be freed during static destruction.
  static auto* stats = new std::array<DeviceStats, kMaxDevices>();
  return *stats;
}

void count_allocation(int device, std::size_t bytes, void* pointer) {
  std::size_t allocated = 0;
  {
    DeviceStats& d = all_stats()[device];
    std::lock_guard<std::mutex> lock(d.mutex);
    MemoryStats& s = d.stats;
    s.allocated += bytes;
    s.peak_allocated = std::max(s.peak_allocated, s.allocated);
    s.blocks += 1;
    s.peak_blocks = std::max(s.peak_blocks, s.blocks);
    s.total_allocated += bytes;
    s.allocations += 1;
    allocated = s.allocated;
  }
  if (c10::memoryProfilingEnabled()) {
    c10::reportMemoryUsageToProfiler(
        pointer,
        static_cast<int64_t>(bytes),
        allocated,
        allocated,
        c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device)));
  }
}

void count_free(int device, std::size_t bytes, void* pointer) {
  std::size_t allocated = 0;
  {
    DeviceStats& d = all_stats()[device];
    std::lock_guard<std::mutex> lock(d.mutex);
    MemoryStats& s = d.stats;
    s.allocated -= bytes;
    s.blocks -= 1;
    s.total_freed += bytes;
    s.frees += 1;
    allocated = s.allocated;
  }
  if (c10::memoryProfilingEnabled()) {
    c10::reportMemoryUsageToProfiler(
        pointer,
        -static_cast<int64_t>(bytes),
        allocated,
        allocated,
        c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device)));
  }
}

c10::CachingDeviceAllocator::DeviceStats to_torch_stats(const MemoryStats& m) {
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
    const int device = current_device();
    return allocate_device_memory(
        device, bytes, c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device)));
  }

  c10::DeleterFnPtr raw_deleter() const override {
    return &free_device_memory;
  }

  // Storage copies (e.g. when torch clones a storage) go through the driver.
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    if (count == 0) {
      return;
    }
    const driver::Stream stream{current_device(), driver::kDefaultStreamId};
    FAKEDEVICE_CHECK(
        driver::memcpy_async(dest, src, count, driver::MemcpyKind::kDeviceToDevice, stream));
    FAKEDEVICE_CHECK(driver::stream_synchronize(stream));
  }

  bool initialized() override {
    return true;
  }

  // Nothing is cached: every free goes straight back to the driver.
  void emptyCache(c10::MempoolId_t /*mempool_id*/) override {}

  void recordStream(const c10::DataPtr& data, c10::Stream stream) override {
    record_data_ptr_on_stream(data, stream);
  }

  c10::CachingDeviceAllocator::DeviceStats getDeviceStats(c10::DeviceIndex device) override {
    return to_torch_stats(memory_stats(resolve_device(device)));
  }

  void resetAccumulatedStats(c10::DeviceIndex device) override {
    reset_accumulated_memory_stats(resolve_device(device));
  }

  void resetPeakStats(c10::DeviceIndex device) override {
    reset_peak_memory_stats(resolve_device(device));
  }

#if FAKEDEVICE_TORCH_AT_LEAST(2, 10)
  // torch.accelerator.get_memory_info, from torch 2.10 on: (free, total).
  std::pair<size_t, size_t> getMemoryInfo(c10::DeviceIndex device) override {
    driver::MemoryInfo info;
    FAKEDEVICE_CHECK(driver::mem_get_info(resolve_device(device), &info));
    return {info.free, info.total};
  }
#endif
};

DeviceAllocator the_device_allocator;

void free_host_memory(void* pointer) {
  FAKEDEVICE_CHECK_WARN(driver::host_free(pointer));
}

// Pinned host memory straight from the driver (cudaHostAlloc), uncached.
// Copies from and to it may run asynchronously: the driver keeps a block a
// queued copy uses, so record_event has nothing to do.
class PinnedHostAllocator final : public at::HostAllocator {
 public:
  c10::DataPtr allocate(size_t bytes) override {
    void* pointer = nullptr;
    FAKEDEVICE_CHECK(driver::host_alloc(bytes, &pointer));
    count(static_cast<int64_t>(bytes), +1);
    return {pointer, pointer, &free_pinned, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override {
    return &free_pinned;
  }

  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  bool record_event(void* /*ptr*/, void* /*ctx*/, c10::Stream /*stream*/) override {
    return true;
  }

  void empty_cache() override {}

  at::HostStats get_stats() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void reset_accumulated_stats() override {
    std::lock_guard<std::mutex> lock(mutex_);
    for_each_stat([](c10::CachingAllocator::Stat& stat) { stat.reset_accumulated(); });
    stats_.num_host_alloc = 0;
    stats_.num_host_free = 0;
  }

  void reset_peak_stats() override {
    std::lock_guard<std::mutex> lock(mutex_);
    for_each_stat([](c10::CachingAllocator::Stat& stat) { stat.reset_peak(); });
  }

  template <typename F>
  void for_each_stat(F&& f) {
#if FAKEDEVICE_TORCH_AT_LEAST(2, 10)
    for (auto* stat :
         {&stats_.active_requests,
          &stats_.allocations,
          &stats_.active_bytes,
          &stats_.allocated_bytes}) {
#else
    for (auto* stat :
         {&stats_.allocation, &stats_.segment, &stats_.allocated_bytes, &stats_.reserved_bytes}) {
#endif
      f(*stat);
    }
  }

  void count_free(void* pointer) {
    driver::PointerAttributes attributes;
    driver::pointer_get_attributes(pointer, &attributes);
    count(static_cast<int64_t>(attributes.bytes), -1);
  }

  // Every block is both requested and allocated: nothing is cached. The
  // statistics' names changed in torch 2.10.
  void count(int64_t bytes, int sign) {
    std::lock_guard<std::mutex> lock(mutex_);
#if FAKEDEVICE_TORCH_AT_LEAST(2, 10)
    for (auto* stat : {&stats_.active_requests, &stats_.allocations}) {
      sign > 0 ? stat->increase(1) : stat->decrease(1);
    }
    for (auto* stat : {&stats_.active_bytes, &stats_.allocated_bytes}) {
      sign > 0 ? stat->increase(bytes) : stat->decrease(bytes);
    }
#else
    for (auto* stat : {&stats_.allocation, &stats_.segment}) {
      sign > 0 ? stat->increase(1) : stat->decrease(1);
    }
    for (auto* stat : {&stats_.allocated_bytes, &stats_.reserved_bytes}) {
      sign > 0 ? stat->increase(bytes) : stat->decrease(bytes);
    }
#endif
    (sign > 0 ? stats_.num_host_alloc : stats_.num_host_free) += 1;
  }

 private:
  static void free_pinned(void* pointer);

  std::mutex mutex_;
  at::HostStats stats_;
};

PinnedHostAllocator the_pinned_allocator;

void PinnedHostAllocator::free_pinned(void* pointer) {
  if (pointer != nullptr) {
    the_pinned_allocator.count_free(pointer);
    free_host_memory(pointer);
  }
}

}  // namespace

c10::DataPtr allocate_device_memory(int device, std::size_t bytes, c10::Device reported_as) {
  void* pointer = nullptr;
  const driver::Status status = driver::malloc(device, bytes, &pointer);
  if (status == driver::Status::kOutOfMemory) {
    DeviceStats& d = all_stats()[device];
    std::lock_guard<std::mutex> lock(d.mutex);
    d.stats.out_of_memory_errors += 1;
  }
  if (status == driver::Status::kOutOfMemory) {
    memory_history::record_out_of_memory(device, bytes);
  }
  FAKEDEVICE_CHECK(status);
  if (pointer != nullptr) {
    count_allocation(device, bytes, pointer);
    memory_history::record_alloc(device, pointer, bytes);
  }
  return {pointer, pointer, &free_device_memory, reported_as};
}

void free_device_memory(void* pointer) {
  if (pointer == nullptr) {
    return;
  }
  driver::PointerAttributes attributes;
  driver::pointer_get_attributes(pointer, &attributes);
  if (attributes.type == driver::MemoryType::kDevice) {
    count_free(attributes.device, attributes.bytes, pointer);
    memory_history::record_free(attributes.device, pointer, attributes.bytes);
  }
  FAKEDEVICE_CHECK_WARN(driver::free(pointer));
}

c10::Allocator* device_allocator() {
  return &the_device_allocator;
}

MemoryStats memory_stats(int device) {
  DeviceStats& d = all_stats()[checked_device(device)];
  std::lock_guard<std::mutex> lock(d.mutex);
  return d.stats;
}

void reset_peak_memory_stats(int device) {
  DeviceStats& d = all_stats()[checked_device(device)];
  std::lock_guard<std::mutex> lock(d.mutex);
  d.stats.peak_allocated = d.stats.allocated;
  d.stats.peak_blocks = d.stats.blocks;
}

void reset_accumulated_memory_stats(int device) {
  DeviceStats& d = all_stats()[checked_device(device)];
  std::lock_guard<std::mutex> lock(d.mutex);
  MemoryStats& s = d.stats;
  s.total_allocated = s.total_freed = 0;
  s.allocations = s.frees = 0;
  s.out_of_memory_errors = 0;
}

void record_data_ptr_on_stream(const c10::DataPtr& data, const c10::Stream& stream) {
  if (data.get() != nullptr) {
    FAKEDEVICE_CHECK(driver::memory_record_stream(data.get(), from_torch(stream)));
  }
}

c10::Allocator* pinned_host_allocator() {
  return &the_pinned_allocator;
}

bool is_pinned_host_pointer(const void* pointer) {
  driver::PointerAttributes attributes;
  driver::pointer_get_attributes(pointer, &attributes);
  return attributes.type == driver::MemoryType::kHost;
}

REGISTER_ALLOCATOR(c10::DeviceType::MTIA, &the_device_allocator);
// torch.accelerator.empty_host_cache() and friends look up the host
// allocator of the current accelerator: without one they crash.
REGISTER_HOST_ALLOCATOR(c10::DeviceType::MTIA, &the_pinned_allocator);

}  // namespace fakedevice
