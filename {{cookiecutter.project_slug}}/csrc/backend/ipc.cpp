// Sharing device memory between processes, for torch.multiprocessing (the
// package's _sharing.py pickles device tensors with these), as CUDA's IPC
// shares it (cudaIpcGetMemHandle / cudaIpcOpenMemHandle):
// - the producer moves a storage into memory from the driver's
//   malloc_shareable the first time it is shared (waiting for the device,
//   copying, and swapping the storage's DataPtr, as share_memory_() does for
//   CPU tensors), and exports a handle: a file descriptor, an offset and a
//   size, which Python sends with SCM_RIGHTS (multiprocessing's DupFd);
// - the consumer opens the handle and wraps the mapping as a device storage:
//   both processes then read and write the same memory.
// Shared and opened memory is not counted in the allocator's statistics.
#include <ATen/core/Tensor.h>
#include <c10/core/StorageImpl.h>
#include <c10/core/TensorImpl.h>
#include <pybind11/pybind11.h>
#include <torch/csrc/utils/pybind.h>

#include <cstdint>
#include <mutex>
#include <tuple>

#include "backend/allocator.h"
#include "backend/common.h"
#include "backend/gil.h"

namespace fakedevice {
namespace {

// The deleter of shareable and opened memory: the driver's stream-ordered free.
void free_shared_memory(void* pointer) {
  FAKEDEVICE_CHECK_WARN(driver::free(pointer));
}

// Moves a storage's bytes into shareable memory, in place. Refused for
// memory a captured graph uses: its replays would go on writing the old block.
void move_to_shareable_memory(c10::StorageImpl* storage, int device) {
  const std::size_t bytes = storage->nbytes();
  void* shared = nullptr;
  {
    GilReleased no_gil;
    // Work queued on any stream may still write the storage.
    FAKEDEVICE_CHECK(driver::device_synchronize(device));
    driver::IpcMemHandle unused;
    const driver::Status movable = driver::ipc_get_mem_handle(storage->data(), &unused);
    TORCH_CHECK(
        movable != driver::Status::kIllegalState,
        "cannot share this ",
        kDeviceType,
        " tensor with another process: its memory is not shareable yet, and a captured graph "
        "uses it, so it cannot move (share it before capturing the graph): ",
        driver::last_error_message());
    FAKEDEVICE_CHECK(driver::malloc_shareable(device, bytes, &shared));
    const driver::Stream stream{device, driver::kDefaultStreamId};
    const driver::Status copied = driver::memcpy_async(
        shared, storage->data(), bytes, driver::MemcpyKind::kDeviceToDevice, stream);
    const driver::Status finished =
        copied == driver::Status::kSuccess ? driver::stream_synchronize(stream) : copied;
    if (finished != driver::Status::kSuccess) {
      FAKEDEVICE_CHECK_WARN(driver::free(shared));
      FAKEDEVICE_CHECK(finished);
    }
  }
  c10::DataPtr previous = storage->set_data_ptr(
      c10::DataPtr(
          shared,
          shared,
          &free_shared_memory,
          c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device))));
  (void)previous;  // freed here, after the work queued on it (stream-ordered)
}

// (fd, offset, block bytes, device) of a device tensor's storage, moving it
// into shareable memory first if it is not there yet. fd is -1 for a storage
// of no bytes. The fd stays the driver's: the caller duplicates it.
std::tuple<int, std::size_t, std::size_t, int> share_storage(const at::Tensor& tensor) {
  TORCH_CHECK(
      tensor.device().type() == kDeviceType,
      "expected a ",
      kDeviceType,
      " tensor, got one on ",
      tensor.device());
  const int device = resolve_device(tensor.device().index());
  c10::StorageImpl* storage = tensor.storage().unsafeGetStorageImpl();
  if (storage->nbytes() == 0) {
    return {-1, 0, 0, device};
  }
  // One share at a time: two threads sharing one fresh tensor would both
  // move it, and one of them would hand out the block the other replaced.
  static std::mutex sharing;
  std::unique_lock<std::mutex> lock(sharing, std::defer_lock);
  {
    GilReleased no_gil;  // another sharer may hold it while it synchronizes
    lock.lock();
  }
  driver::IpcMemHandle handle;
  driver::Status status = driver::ipc_get_mem_handle(storage->data(), &handle);
  if (status == driver::Status::kNotSupported || status == driver::Status::kIllegalState) {
    move_to_shareable_memory(storage, device);
    status = driver::ipc_get_mem_handle(storage->data(), &handle);
  }
  FAKEDEVICE_CHECK(status);
  return {handle.fd, handle.offset, handle.bytes, handle.device};
}

// A 1-D uint8 device tensor over `nbytes` of another process's shared
// memory, whose whole storage it is. The caller keeps (and closes) the fd.
at::Tensor open_storage(
    int fd, std::size_t offset, std::size_t block_bytes, int device, std::size_t nbytes) {
  checked_device(device);
  TORCH_CHECK(
      offset + nbytes <= block_bytes,
      "a shared ",
      kDeviceType,
      " storage of ",
      nbytes,
      " bytes at offset ",
      offset,
      " does not fit its block of ",
      block_bytes,
      " bytes");
  void* pointer = nullptr;
  if (nbytes > 0) {
    driver::IpcMemHandle handle;
    handle.fd = fd;
    handle.offset = offset;
    handle.bytes = block_bytes;
    handle.device = device;
    FAKEDEVICE_CHECK(driver::ipc_open_mem_handle(handle, &pointer));
  }
  const c10::Device where(kDeviceType, static_cast<c10::DeviceIndex>(device));
  c10::Storage storage(
      c10::make_intrusive<c10::StorageImpl>(
          c10::StorageImpl::use_byte_size_t(),
          nbytes,
          c10::DataPtr(pointer, pointer, &free_shared_memory, where),
          device_allocator(),
          /*resizable=*/false));
  auto impl = c10::make_intrusive<c10::TensorImpl>(
      std::move(storage),
      c10::DispatchKeySet(c10::DispatchKey::MTIA),
      caffe2::TypeMeta::Make<uint8_t>());
  impl->set_sizes_contiguous({static_cast<int64_t>(nbytes)});
  return at::Tensor(std::move(impl));
}

}  // namespace
}  // namespace fakedevice

// Called from bindings.cpp.
void fakedevice_register_ipc(pybind11::module_& module) {
  module.def(
      "ipc_share_storage",
      &fakedevice::share_storage,
      pybind11::arg("tensor"),
      "(fd, offset, block_bytes, device) of a device tensor's storage, moved into shareable "
      "memory first if needed; fd is -1 for an empty storage.");
  module.def(
      "ipc_open_storage",
      &fakedevice::open_storage,
      pybind11::arg("fd"),
      pybind11::arg("offset"),
      pybind11::arg("block_bytes"),
      pybind11::arg("device"),
      pybind11::arg("nbytes"),
      "A 1-D uint8 device tensor over another process's shared storage (see ipc_share_storage).");
}
