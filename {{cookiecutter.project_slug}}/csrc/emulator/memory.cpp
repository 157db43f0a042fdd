// Device memory is host memory, with a capacity per device; plus page-locked
// host memory, memory shared between processes, and the work that reads and
// writes memory: copies, memsets and kernels. A table of blocks traces any
// address to its block, so that every copy is checked against the bounds of
// the blocks it touches.
//
// A block is released when three things are true: its owner freed it, every
// stream it was recorded on has finished the work submitted before that, and
// no MemoryHold keeps it (work that is queued or captured in a graph).
#include "emulator/memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "device_config.h"
#include "emulator/engine.h"
#include "emulator/failure.h"
#include "emulator/lifetime.h"

namespace fakedevice::emulator {
namespace {

// As CUDA's allocator does, so that any dtype and most vector loads fit.
constexpr std::align_val_t kAlignment{256};
constexpr int kHost = -1;

enum class Backing {
  kHeap,      // operator new
  kShared,    // a memfd mapping this process made (malloc_shareable)
  kImported,  // another process's memfd, mapped here (ipc_open_mem_handle)
};

struct Block {
  std::size_t bytes;
  int device;  // kHost for page-locked host memory
  Backing backing = Backing::kHeap;
  int fd = -1;                   // kShared: the memfd; kImported: a duplicate of the sender's
  std::size_t mapped_bytes = 0;  // kShared, kImported: the mapping's length
  std::vector<driver::Stream> used_on;
  std::size_t holds = 0;
  bool freed = false;
  std::size_t streams_pending = 0;  // streams still to reach the free
};

struct DeviceMemory {
  std::size_t capacity = config::kDeviceMemoryBytes;
  std::size_t allocated = 0;  // bytes in blocks not yet released
};

struct MemoryState {
  std::mutex mutex;
  std::map<std::uintptr_t, Block> blocks;  // by start address
  std::array<DeviceMemory, kMaxDevices> devices;
};

// Never destroyed: tensors may be freed during static destruction. A forked
// child gets a fresh one (lifetime.cpp).
MemoryState* current_memory = new MemoryState();

MemoryState& memory() {
  return *current_memory;
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

std::string describe_pointer(const void* pointer) {
  char text[32];
  std::snprintf(text, sizeof(text), "%p", pointer);
  return text;
}

// Gives memory back to the host. Called without the lock.
struct Release {
  void* start = nullptr;
  Backing backing = Backing::kHeap;
  int fd = -1;
  std::size_t mapped_bytes = 0;
};

void give_back(const Release& release) noexcept {
  if (release.start == nullptr) {
    return;
  }
  if (release.backing == Backing::kHeap) {
    ::operator delete(release.start, kAlignment);
    return;
  }
  munmap(release.start, release.mapped_bytes);
  if (release.fd >= 0) {
    close(release.fd);
  }
}

// Releases the block if nothing holds it any more. Lock held; returns what to
// give back to the host once the lock is released.
Release release_if_unused(MemoryState& m, BlockIterator it) {
  const Block& block = it->second;
  if (!block.freed || block.holds > 0 || block.streams_pending > 0) {
    return {};
  }
  if (block.device != kHost && block.backing != Backing::kImported) {
    m.devices[block.device].allocated -= block.bytes;
  }
  Release release{reinterpret_cast<void*>(it->first), block.backing, block.fd, block.mapped_bytes};
  m.blocks.erase(it);
  return release;
}

// Lets go of one hold (a MemoryHold, or a stream still to reach the free) on
// the block that starts at `address`, and releases the block if that was the
// last thing keeping it.
void drop_hold(std::uintptr_t address, std::size_t Block::* count) noexcept {
  MemoryState& m = memory();
  Release release;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.blocks.find(address);
    if (it != m.blocks.end()) {
      it->second.*count -= 1;
      release = release_if_unused(m, it);
    }
  }
  give_back(release);
}

// Reserves `bytes` of the device's capacity, or throws kOutOfMemory. Lock held.
void reserve(MemoryState& m, int device, std::size_t bytes) {
  DeviceMemory& dm = m.devices[device];
  const std::size_t free_bytes = dm.capacity > dm.allocated ? dm.capacity - dm.allocated : 0;
  if (bytes > free_bytes) {
    fail(
        driver::Status::kOutOfMemory,
        describe_device(device) + " is out of memory: tried to allocate " + describe_bytes(bytes) +
            "; " + describe_bytes(free_bytes) + " free of " + describe_bytes(dm.capacity));
  }
  dm.allocated += bytes;
}

void unreserve(int device, std::size_t bytes) {
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.devices[device].allocated -= bytes;
}

// Adds a block to the table and returns its start.
void* add_block(void* start, Block block) {
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.blocks.emplace(reinterpret_cast<std::uintptr_t>(start), std::move(block));
  return start;
}

// Maps `bytes` of a memfd (made here if fd < 0). Throws kOutOfMemory.
void* map_shared(int fd, std::size_t bytes) {
  void* start = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (start == MAP_FAILED) {
    fail(
        driver::Status::kOutOfMemory,
        "could not map " + describe_bytes(bytes) + " of shared memory: " + std::strerror(errno));
  }
  return start;
}

std::size_t page_rounded(std::size_t bytes) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

}  // namespace

void lock_memory_for_fork() noexcept {
  memory().mutex.lock();
}

void unlock_memory_after_fork() noexcept {
  memory().mutex.unlock();
}

void replace_memory_in_forked_child() noexcept {
  current_memory = new MemoryState();
}

bool host_addressable();  // devices.cpp

MemoryHold::MemoryHold(const void* pointer) noexcept {
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = find_block(m, reinterpret_cast<std::uintptr_t>(pointer));
  if (it != m.blocks.end()) {
    it->second.holds += 1;
    block_ = it->first;
  }
}

MemoryHold::MemoryHold(const MemoryHold& other) noexcept : block_(other.block_) {
  if (block_ != 0) {
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    m.blocks.at(block_).holds += 1;
  }
}

MemoryHold::~MemoryHold() {
  if (block_ != 0) {
    drop_hold(block_, &Block::holds);
  }
}

driver::MemoryType check_range(
    const void* pointer, std::size_t bytes, Placement placement, MemoryHold* hold) {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  driver::MemoryType type = driver::MemoryType::kUnregistered;
  {
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = find_block(m, address);
    if (it != m.blocks.end()) {
      const Block& block = it->second;
      type = block.device == kHost ? driver::MemoryType::kHost : driver::MemoryType::kDevice;
      if (block.freed) {
        fail(driver::Status::kInvalidValue, describe_pointer(pointer) + " is in freed memory");
      }
      if (address + bytes > it->first + block.bytes) {
        fail(
            driver::Status::kInvalidValue,
            describe_bytes(bytes) + " from " + describe_pointer(pointer) +
                " run past the end of its block of " + describe_bytes(block.bytes));
      }
    }
  }
  if (placement == Placement::kDevice && type != driver::MemoryType::kDevice) {
    fail(driver::Status::kInvalidValue, describe_pointer(pointer) + " is not device memory");
  }
  if (placement == Placement::kHostOrUnregistered && type == driver::MemoryType::kDevice) {
    fail(
        driver::Status::kInvalidValue,
        describe_pointer(pointer) + " is device memory where host memory was expected");
  }
  if (type != driver::MemoryType::kUnregistered) {
    *hold = MemoryHold(pointer);
  }
  return type;
}

driver::Status set_memory_capacity(int device, std::size_t bytes) {
  return translate([&] {
    check_device(device);
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    m.devices[device].capacity = bytes;
  });
}

driver::Status memory_capacity(int device, std::size_t* bytes) {
  return translate([&] {
    check_device(device);
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    *bytes = m.devices[device].capacity;
  });
}

}  // namespace fakedevice::emulator

namespace fakedevice::driver {

using namespace emulator;

namespace {

// Submits a task that touches memory, with the holds that keep it allocated.
void submit_memory_work(
    Stream stream,
    std::function<void()> run,
    ActivityKind kind,
    std::string name,
    std::size_t bytes,
    std::vector<MemoryHold> holds,
    bool touches_unregistered_host_memory,
    bool on_caller) {
  engine::State& s = engine::state();
  std::unique_lock<std::mutex> lock(s.mutex);
  if (touches_unregistered_host_memory) {
    // A graph would keep the pointer, which the caller may free; the replay
    // would then write through it.
    engine::refuse_if_capturing(
        s, stream, "given a copy from or to pageable host memory (use pinned memory)");
  }
  engine::Command command =
      engine::make_command(engine::Task{std::move(run)}, kind, std::move(name));
  command.bytes = bytes;
  command.holds = std::move(holds);
  command.on_caller = on_caller;
  engine::submit(s, lock, stream, std::move(command));
}

// What malloc and malloc_shareable do first: check, and count the bytes
// against the capacity before allocating, so that concurrent calls cannot
// overshoot. Returns false for zero bytes (null, nothing reserved).
bool reserve_for_allocation(int device, std::size_t bytes, void** pointer) {
  check_usable();
  check_device(device);
  *pointer = nullptr;
  if (bytes == 0) {
    return false;
  }
  mark_used();
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  reserve(m, device, bytes);
  return true;
}

}  // namespace

Status malloc(int device, std::size_t bytes, void** pointer) {
  return translate([&] {
    if (!reserve_for_allocation(device, bytes, pointer)) {
      return;
    }
    void* start = ::operator new(bytes, kAlignment, std::nothrow);
    if (start == nullptr) {
      unreserve(device, bytes);
      fail(
          Status::kOutOfMemory,
          describe_device(device) + " is out of memory: the host could not provide " +
              describe_bytes(bytes));
    }
    *pointer = add_block(start, Block{bytes, device});
  });
}

Status free(void* pointer) {
  if (pointer == nullptr || forked_after_use()) {
    return Status::kSuccess;
  }
  auto address = reinterpret_cast<std::uintptr_t>(pointer);
  std::vector<Stream> used_on;
  {
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.blocks.find(address);
    if (it == m.blocks.end()) {
      // Memory opened from another process is freed by the pointer it gave.
      it = find_block(m, address);
      if (it != m.blocks.end() && it->second.backing != Backing::kImported) {
        it = m.blocks.end();
      }
    }
    if (it == m.blocks.end() || it->second.freed) {
      set_last_error(describe_pointer(pointer) + " is not the start of an allocated block");
      return Status::kInvalidValue;
    }
    address = it->first;
    it->second.freed = true;
    used_on.swap(it->second.used_on);
    // One count for this call keeps the block until every stream is asked.
    it->second.streams_pending = used_on.size() + 1;
  }
  for (const Stream& stream : used_on) {
    engine::run_after_queued_work(
        stream, [address] { drop_hold(address, &Block::streams_pending); });
  }
  drop_hold(address, &Block::streams_pending);
  return Status::kSuccess;
}

Status host_alloc(std::size_t bytes, void** pointer) {
  return translate([&] {
    check_usable();
    *pointer = nullptr;
    if (bytes == 0) {
      return;
    }
    mark_used();
    void* start = ::operator new(bytes, kAlignment, std::nothrow);
    if (start == nullptr) {
      fail(
          Status::kOutOfMemory,
          "the host could not provide " + describe_bytes(bytes) + " of page-locked memory");
    }
    *pointer = add_block(start, Block{bytes, kHost});
  });
}

Status host_free(void* pointer) {
  return free(pointer);
}

Status mem_get_info(int device, MemoryInfo* info) {
  return translate([&] {
    check_device(device);
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    const DeviceMemory& dm = m.devices[device];
    info->total = dm.capacity;
    info->free = dm.capacity > dm.allocated ? dm.capacity - dm.allocated : 0;
  });
}

Status pointer_get_attributes(const void* pointer, PointerAttributes* attributes) {
  MemoryState& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = find_block(m, reinterpret_cast<std::uintptr_t>(pointer));
  if (it == m.blocks.end()) {
    *attributes = PointerAttributes{};
    return Status::kSuccess;
  }
  const Block& block = it->second;
  attributes->type = block.device == kHost ? MemoryType::kHost : MemoryType::kDevice;
  attributes->device = block.device == kHost ? -1 : block.device;
  attributes->base = reinterpret_cast<void*>(it->first);
  attributes->bytes = block.bytes;
  return Status::kSuccess;
}

Status memory_record_stream(void* pointer, Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = find_block(m, reinterpret_cast<std::uintptr_t>(pointer));
    if (it == m.blocks.end()) {
      fail(
          Status::kInvalidValue,
          describe_pointer(pointer) + " is in no block the driver allocated");
    }
    std::vector<Stream>& used_on = it->second.used_on;
    for (const Stream& known : used_on) {
      if (known.device == stream.device && known.id == stream.id) {
        return;
      }
    }
    used_on.push_back(stream);
  });
}

Status memcpy_async(void* dst, const void* src, std::size_t bytes, MemcpyKind kind, Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    if (bytes == 0) {
      return;
    }
    std::vector<MemoryHold> holds(2);
    const bool device_src = kind != MemcpyKind::kHostToDevice;
    const bool device_dst = kind != MemcpyKind::kDeviceToHost;
    const auto src_type = check_range(
        src, bytes, device_src ? Placement::kDevice : Placement::kHostOrUnregistered, &holds[0]);
    const auto dst_type = check_range(
        dst, bytes, device_dst ? Placement::kDevice : Placement::kHostOrUnregistered, &holds[1]);
    static constexpr const char* kNames[] = {
        "memcpy host to device", "memcpy device to host", "memcpy device to device"};
    submit_memory_work(
        stream,
        [dst, src, bytes] { std::memcpy(dst, src, bytes); },
        ActivityKind::kMemcpy,
        kNames[static_cast<int>(kind)],
        bytes,
        std::move(holds),
        src_type == MemoryType::kUnregistered || dst_type == MemoryType::kUnregistered,
        /*on_caller=*/true);
  });
}

Status memset_async(void* dst, int value, std::size_t bytes, Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    if (bytes == 0) {
      return;
    }
    std::vector<MemoryHold> holds(1);
    check_range(dst, bytes, Placement::kDevice, &holds[0]);
    submit_memory_work(
        stream,
        [dst, value, bytes] { std::memset(dst, value, bytes); },
        ActivityKind::kMemset,
        "memset",
        bytes,
        std::move(holds),
        false,
        /*on_caller=*/true);
  });
}

Status launch_kernel(Kernel kernel, Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    if (!kernel.run) {
      fail(Status::kInvalidValue, "a kernel with no body");
    }
    if (!host_addressable()) {
      fail(
          Status::kNotSupported,
          "kernel '" + kernel.name +
              "' runs host code on device memory, which this device (separate memory) cannot");
    }
    std::vector<MemoryHold> holds;
    holds.reserve(kernel.uses.size());
    for (const void* pointer : kernel.uses) {
      MemoryHold hold(pointer);
      if (!hold) {
        fail(
            Status::kInvalidValue,
            "kernel '" + kernel.name + "' uses " + describe_pointer(pointer) +
                ", which is in no block the driver allocated");
      }
      holds.push_back(std::move(hold));
    }
    submit_memory_work(
        stream,
        std::move(kernel.run),
        ActivityKind::kKernel,
        kernel.name,
        0,
        std::move(holds),
        false,
        kernel.short_host_code);
  });
}

Status malloc_shareable(int device, std::size_t bytes, void** pointer) {
  return translate([&] {
    if (!reserve_for_allocation(device, bytes, pointer)) {
      return;
    }
    const std::size_t mapped = page_rounded(bytes);
    const int fd = memfd_create("fakedevice-shared", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(mapped)) != 0) {
      const std::string reason = std::strerror(errno);
      if (fd >= 0) {
        close(fd);
      }
      unreserve(device, bytes);
      fail(
          Status::kOutOfMemory,
          "could not make " + describe_bytes(mapped) + " of shared memory: " + reason);
    }
    void* start = nullptr;
    try {
      start = map_shared(fd, mapped);
    } catch (...) {
      close(fd);
      unreserve(device, bytes);
      throw;
    }
    Block block{bytes, device, Backing::kShared, fd, mapped};
    *pointer = add_block(start, std::move(block));
  });
}

Status ipc_get_mem_handle(const void* pointer, IpcMemHandle* handle) {
  return translate([&] {
    check_usable();
    MemoryState& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = find_block(m, reinterpret_cast<std::uintptr_t>(pointer));
    if (it == m.blocks.end() || it->second.device == kHost) {
      fail(Status::kInvalidValue, describe_pointer(pointer) + " is not device memory");
    }
    const Block& block = it->second;
    if (block.backing == Backing::kHeap) {
      // A move into shareable memory (what the glue does next) would leave
      // work that holds the raw pointer, a captured graph's, on the old block.
      fail(
          block.holds > 0 ? Status::kIllegalState : Status::kNotSupported,
          describe_pointer(pointer) + " is not in shareable memory" +
              (block.holds > 0 ? ", and queued or captured work uses it" : ""));
    }
    if (block.freed) {
      fail(Status::kInvalidValue, describe_pointer(pointer) + " is in freed memory");
    }
    // Memory opened from another process keeps a descriptor of its own, so
    // that it can be passed on (to a third process, or back).
    *handle = IpcMemHandle{
        block.fd, reinterpret_cast<std::uintptr_t>(pointer) - it->first, block.bytes, block.device};
  });
}

Status ipc_open_mem_handle(const IpcMemHandle& handle, void** pointer) {
  return translate([&] {
    check_usable();
    check_device(handle.device);
    if (handle.fd < 0 || handle.bytes == 0 || handle.offset >= handle.bytes) {
      fail(Status::kInvalidValue, "an invalid inter-process memory handle");
    }
    const std::size_t mapped = page_rounded(handle.bytes);
    // A handle larger than the memory behind its descriptor would map pages
    // that fault (SIGBUS) when touched.
    struct stat status;
    if (fstat(handle.fd, &status) != 0 || static_cast<std::size_t>(status.st_size) < mapped) {
      fail(
          Status::kInvalidValue,
          "an inter-process memory handle of " + describe_bytes(handle.bytes) +
              " whose descriptor does not hold that much shared memory");
    }
    mark_used();
    const int fd = fcntl(handle.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      fail(
          Status::kInvalidValue,
          std::string("could not keep the shared memory's descriptor: ") + std::strerror(errno));
    }
    void* start = nullptr;
    try {
      start = map_shared(fd, mapped);
    } catch (...) {
      close(fd);
      throw;
    }
    Block block{handle.bytes, handle.device, Backing::kImported, fd, mapped};
    add_block(start, std::move(block));
    *pointer = static_cast<char*>(start) + handle.offset;
  });
}

}  // namespace fakedevice::driver
