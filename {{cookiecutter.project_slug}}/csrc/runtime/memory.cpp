// Memory: host memory standing in for device memory, with a capacity and
// statistics per device, plus pinned host memory; a table of blocks traces
// any address to its block.
//
// A block is freed when three things are true: its owner deallocated it,
// every stream it was recorded on has finished the work queued before that,
// and no BlockPin holds it (work that is queued or captured in a graph).
#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "device_config.h"
#include "runtime/describe.h"
#include "runtime/engine.h"

namespace fakedevice::runtime {
namespace {

// As CUDA's allocator does, so that any dtype and most vector loads fit.
constexpr std::align_val_t kAlignment{256};
constexpr int kHost = -1;

struct Block {
  std::size_t bytes;
  int device;  // kHost for pinned host memory
  std::vector<Stream> used_on;
  std::size_t pins = 0;
  bool deallocated = false;
  std::size_t streams_pending = 0;  // streams still to reach the deallocation
};

struct MemoryState {
  MemoryState() {
    for (MemoryStats& stats : devices) {
      stats.capacity = config::kDeviceMemoryBytes;
    }
  }
  std::mutex mutex;
  std::map<std::uintptr_t, Block> blocks;  // by start address
  std::array<MemoryStats, kMaxDevices> devices;
};

// Never destroyed: tensors may be freed during static destruction.
MemoryState& memory() {
  static MemoryState* instance = new MemoryState();
  return *instance;
}

using BlockIterator = std::map<std::uintptr_t, Block>::iterator;

// The block holding `address`, or blocks.end(). Lock held.
BlockIterator find_block(MemoryState& m, std::uintptr_t address) {
  auto it = m.blocks.upper_bound(address);
  if (it == m.blocks.begin()) {
    return m.blocks.end();
  }
  --it;
  return address < it->first + std::max<std::size_t>(it->second.bytes, 1) ? it : m.blocks.end();
}

std::string describe_bytes(std::size_t bytes) {
  char text[32];
  if (bytes >= (std::size_t{1} << 30)) {
    std::snprintf(text, sizeof(text), "%.2f GiB", bytes / double(1 << 30));
  } else if (bytes >= (std::size_t{1} << 20)) {
    std::snprintf(text, sizeof(text), "%.2f MiB", bytes / double(1 << 20));
  } else {
    std::snprintf(text, sizeof(text), "%zu bytes", bytes);
  }
  return text;
}

// Frees the block if nothing holds it any more. Lock held; returns the memory
// to give back to the host once the lock is released, or null.
void* release_if_unused(MemoryState& m, BlockIterator it) {
  const Block& block = it->second;
  if (!block.deallocated || block.pins > 0 || block.streams_pending > 0) {
    return nullptr;
  }
  if (block.device != kHost) {
    MemoryStats& stats = m.devices[block.device];
    stats.allocated -= block.bytes;
    stats.total_freed += block.bytes;
    stats.blocks -= 1;
    stats.frees += 1;
  }
  void* memory_to_free = reinterpret_cast<void*>(it->first);
  m.blocks.erase(it);
  return memory_to_free;
}

void give_back(void* ptr) {
  if (ptr != nullptr) {
    ::operator delete(ptr, kAlignment);
  }
}

// Lets go of one hold (a pin, or a stream still to reach the deallocation)
// on the block that starts at `address`, then frees the block if that was
// the last thing holding it.
void drop_hold(std::uintptr_t address, std::size_t Block::* count) noexcept {
  MemoryState& m = memory();
  void* to_free = nullptr;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.blocks.find(address);
    if (it != m.blocks.end()) {
      it->second.*count -= 1;
      to_free = release_if_unused(m, it);
    }
  }
  give_back(to_free);
}

// Called once per stream a deallocated block waited for (and once for the
// deallocation itself).
void stream_reached_deallocation(std::uintptr_t address) noexcept {
  drop_hold(address, &Block::streams_pending);
}

void* allocate_block(std::size_t bytes) {
  return ::operator new(bytes, kAlignment, std::nothrow);
}

}  // namespace

void* allocate(int device, std::size_t bytes) {
  check_device(device);
  if (bytes == 0) {
    return nullptr;
  }
  MemoryState& m = memory();
  MemoryStats& stats = m.devices[device];
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    const std::size_t free_bytes = stats.free_bytes();
    if (bytes > free_bytes) {
      stats.out_of_memory_errors += 1;
      throw OutOfMemory(
          describe_device(device) + " is out of memory: tried to allocate " +
              describe_bytes(bytes) + "; " + describe_bytes(free_bytes) + " free of " +
              describe_bytes(stats.capacity),
          bytes,
          free_bytes);
    }
    // Reserved before allocating, so concurrent allocations cannot overshoot.
    stats.allocated += bytes;
  }
  void* ptr = allocate_block(bytes);
  std::lock_guard<std::mutex> lock(m.mutex);
  if (ptr == nullptr) {
    stats.allocated -= bytes;
    stats.out_of_memory_errors += 1;
    throw OutOfMemory(
        describe_device(device) + " is out of memory: the host could not provide " +
            describe_bytes(bytes),
        bytes,
        0);
  }
  m.blocks.emplace(reinterpret_cast<std::uintptr_t>(ptr), Block{bytes, device});
  stats.peak_allocated = std::max(stats.peak_allocated, stats.allocated);
  stats.total_allocated += bytes;
  stats.blocks += 1;
  stats.peak_blocks = std::max(stats.peak_blocks, stats.blocks);
  stats.allocations += 1;
  return ptr;
}

void* allocate_host(std::size_t bytes) {
  if (bytes == 0) {
    return nullptr;
  }
  void* ptr = allocate_block(bytes);
  if (ptr == nullptr) {
    throw OutOfMemory(
        "the host could not provide " + describe_bytes(bytes) + " of pinned memory", bytes, 0);
  }
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.blocks.emplace(reinterpret_cast<std::uintptr_t>(ptr), Block{bytes, kHost});
  return ptr;
}

void deallocate(void* ptr) noexcept {
  if (ptr == nullptr) {
    return;
  }
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  std::vector<Stream> used_on;
  {
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.blocks.find(address);
    if (it == m.blocks.end() || it->second.deallocated) {
      return;
    }
    it->second.deallocated = true;
    used_on.swap(it->second.used_on);
    // One count for this call keeps the block until every stream is asked.
    it->second.streams_pending = used_on.size() + 1;
  }
  for (const Stream& stream : used_on) {
    engine::run_after_queued_work(stream, [address] { stream_reached_deallocation(address); });
  }
  stream_reached_deallocation(address);
}

void record_stream(void* ptr, Stream stream) {
  check_stream(stream);
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = find_block(m, reinterpret_cast<std::uintptr_t>(ptr));
  if (it == m.blocks.end()) {
    throw Error("record_stream: the pointer is not in any block the runtime allocated");
  }
  std::vector<Stream>& used_on = it->second.used_on;
  for (const Stream& known : used_on) {
    if (known.device == stream.device && known.id == stream.id) {
      return;
    }
  }
  used_on.push_back(stream);
}

int device_of_pointer(const void* ptr) noexcept {
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = find_block(m, reinterpret_cast<std::uintptr_t>(ptr));
  return it == m.blocks.end() ? -1 : it->second.device;
}

bool is_host_block(const void* ptr) noexcept {
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = find_block(m, reinterpret_cast<std::uintptr_t>(ptr));
  return it != m.blocks.end() && it->second.device == kHost;
}

BlockPin::BlockPin(const void* ptr) noexcept {
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = find_block(m, reinterpret_cast<std::uintptr_t>(ptr));
  if (it != m.blocks.end()) {
    it->second.pins += 1;
    block_ = it->first;
  }
}

BlockPin::BlockPin(const BlockPin& other) noexcept : block_(other.block_) {
  if (block_ != 0) {
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    m.blocks.at(block_).pins += 1;
  }
}

BlockPin::BlockPin(BlockPin&& other) noexcept : block_(std::exchange(other.block_, 0)) {}

BlockPin& BlockPin::operator=(BlockPin other) noexcept {
  std::swap(block_, other.block_);
  return *this;
}

BlockPin::~BlockPin() {
  if (block_ != 0) {
    drop_hold(block_, &Block::pins);
  }
}

MemoryStats memory_stats(int device) {
  check_device(device);
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  return m.devices[device];
}

void reset_peak_memory(int device) {
  check_device(device);
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  MemoryStats& stats = m.devices[device];
  stats.peak_allocated = stats.allocated;
  stats.peak_blocks = stats.blocks;
}

void reset_accumulated_memory(int device) {
  check_device(device);
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  MemoryStats& stats = m.devices[device];
  stats.total_allocated = stats.total_freed = 0;
  stats.allocations = stats.frees = 0;
  stats.out_of_memory_errors = 0;
}

void set_memory_capacity(int device, std::size_t bytes) {
  check_device(device);
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.devices[device].capacity = bytes;
}

}  // namespace fakedevice::runtime
