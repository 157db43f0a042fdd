// Internal to the emulator: device memory is host memory, kept in a table of
// blocks that traces any address to its block. See memory.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "driver/driver.h"

namespace fakedevice::emulator {

// Keeps the block that holds an address allocated while any copy of the hold
// lives: submitted and captured work holds the memory it uses, so that a
// tensor freed before its kernel ran does not pull the memory from under it.
// Empty (false) for an address in no block.
class MemoryHold {
 public:
  MemoryHold() = default;
  explicit MemoryHold(const void* pointer) noexcept;
  MemoryHold(const MemoryHold& other) noexcept;
  MemoryHold(MemoryHold&& other) noexcept : block_(std::exchange(other.block_, 0)) {}
  MemoryHold& operator=(MemoryHold other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~MemoryHold();
  explicit operator bool() const {
    return block_ != 0;
  }

 private:
  std::uintptr_t block_ = 0;  // start address of the block, 0 if none
};

// Where a pointer range must lie for a copy or a kernel, checked by
// check_range: throws Failure naming the pointer when it is not there.
enum class Placement { kDevice, kHostOrUnregistered };
// Returns the memory type of the range and a hold on its block (empty for
// unregistered host memory).
driver::MemoryType check_range(
    const void* pointer, std::size_t bytes, Placement placement, MemoryHold* hold);

}  // namespace fakedevice::emulator
