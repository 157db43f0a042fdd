#include "backend/host_compute.h"

#include <c10/core/Allocator.h>
#include <c10/core/StorageImpl.h>
#include <c10/core/TensorImpl.h>
#include <c10/util/intrusive_ptr.h>

#include <cstring>

#include "backend/allocator.h"
#include "backend/gil.h"
#include "backend/kernels.h"
#include "backend/staging.h"
#include "backend/streams.h"

namespace fakedevice {
namespace {

// The device this thread's CPU allocations go to, or -1: set by HostCall.
thread_local int redirect_device = -1;

c10::Allocator* original_cpu_allocator = nullptr;

// The CPU allocator, which a HostCall redirects to device memory on its
// thread. Everything else goes to the allocator it replaced.
class RedirectingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) override {
    if (redirect_device >= 0) {
      return allocate_device_memory(redirect_device, bytes, c10::Device(c10::DeviceType::CPU));
    }
    return original_cpu_allocator->allocate(bytes);
  }

  c10::DeleterFnPtr raw_deleter() const override {
    return &raw_delete;
  }

  void copy_data(void* dest, const void* src, std::size_t count) const override {
    original_cpu_allocator->copy_data(dest, src, count);
  }

 private:
  // raw_allocate's memory, from either allocator.
  static void raw_delete(void* pointer) {
    driver::PointerAttributes attributes;
    driver::pointer_get_attributes(pointer, &attributes);
    if (attributes.type == driver::MemoryType::kDevice) {
      free_device_memory(pointer);
    } else {
      original_cpu_allocator->raw_deleter()(pointer);
    }
  }
};

// A host alias's storage keeps the device storage alive: the CPU kernel may
// keep the alias longer than the call (in a result that views it).
void release_device_storage(void* storage) {
  c10::raw::intrusive_ptr::decref(static_cast<c10::StorageImpl*>(storage));
}

c10::DataPtr alias_of(c10::StorageImpl* device_storage) {
  c10::raw::intrusive_ptr::incref(device_storage);
  return c10::DataPtr(
      device_storage->mutable_data(),
      device_storage,
      &release_device_storage,
      c10::Device(c10::DeviceType::CPU));
}

c10::intrusive_ptr<c10::TensorImpl> tensor_over(
    c10::Storage storage, c10::DispatchKey key, const at::Tensor& like) {
  c10::DispatchKeySet keys(key);
  if (like._is_zerotensor()) {
    // Only at construction: TensorImpl::_set_zero(true) refuses.
    keys = keys | c10::DispatchKeySet(c10::DispatchKey::ZeroTensor);
  }
  auto impl = c10::make_intrusive<c10::TensorImpl>(std::move(storage), keys, like.dtype());
  impl->set_sizes_and_strides(like.sizes(), like.strides(), like.storage_offset());
  impl->_set_conj(like.is_conj());
  impl->_set_neg(like.is_neg());
  return impl;
}

}  // namespace

void wait_for_current_stream(int device, const char* what) {
  const driver::Stream stream = current_stream(device);
  driver::Status status = driver::stream_query(stream);
  if (status == driver::Status::kNotReady) {
    GilReleased no_gil;
    status = driver::stream_synchronize(stream);
  }
  TORCH_CHECK(
      status != driver::Status::kNotPermittedWhileCapturing,
      what,
      " runs on the host, which a graph cannot capture: ",
      driver::last_error_message());
  FAKEDEVICE_CHECK(status);
}

void install_host_compute_allocator() {
  static RedirectingCpuAllocator* redirecting = [] {
    original_cpu_allocator = c10::GetAllocator(c10::DeviceType::CPU);
    auto* allocator = new RedirectingCpuAllocator();
    c10::SetAllocator(c10::DeviceType::CPU, allocator);
    return allocator;
  }();
  (void)redirecting;
}

HostCall::HostCall(int device, const char* what)
    : device_(device), copying_(!host_addressable(device)), previous_redirect_(redirect_device) {
  if (copying_) {
    return;  // each download waits for the stream
  }
  wait_for_current_stream(device, what);
  redirect_device = device;
}

HostCall::~HostCall() {
  redirect_device = previous_redirect_;
}

c10::Storage HostCall::host_storage(const c10::Storage& device_storage) {
  c10::StorageImpl* device = device_storage.unsafeGetStorageImpl();
  for (const StorageAlias& alias : storages_) {
    if (alias.device == device) {
      return alias.host;
    }
  }
  c10::Storage host(
      c10::make_intrusive<c10::StorageImpl>(
          c10::StorageImpl::use_byte_size_t(),
          device->nbytes(),
          alias_of(device),
          c10::GetAllocator(c10::DeviceType::CPU),  // a kernel's resize takes device memory
          /*resizable=*/true));
  storages_.push_back({device, host});
  return host;
}

at::Tensor HostCall::to_host(const at::Tensor& tensor) {
  if (!tensor.defined() || tensor.device().type() != kDeviceType) {
    return tensor;
  }
  if (copying_) {
    return download(tensor);
  }
  at::Tensor alias(tensor_over(host_storage(tensor.storage()), c10::DispatchKey::CPU, tensor));
  tensors_.push_back({alias.unsafeGetTensorImpl(), alias, tensor});
  return alias;
}

std::optional<at::Tensor> HostCall::to_host(const std::optional<at::Tensor>& tensor) {
  return tensor.has_value() ? std::optional<at::Tensor>(to_host(*tensor)) : std::nullopt;
}

c10::DataPtr HostCall::take_memory(c10::StorageImpl* host, bool may_adopt) {
  const c10::Device device(kDeviceType, static_cast<c10::DeviceIndex>(device_));
  if (may_adopt && host->data_ptr().get_deleter() == &free_device_memory) {
    // The kernel allocated it while this call redirected: it is device memory.
    c10::DataPtr data = host->set_data_ptr(c10::DataPtr());
    data.unsafe_set_device(device);
    return data;
  }
  if (host->data() == nullptr) {
    // A storage without memory, as a ZeroTensor's (torch._efficientzerotensor):
    // its size is nominal, and nothing may be read from it.
    return c10::DataPtr(nullptr, device);
  }
  const std::size_t nbytes = host->nbytes();
  c10::DataPtr data = allocate_device_memory(device_, nbytes, device);
  if (nbytes > 0) {
    std::memcpy(data.get(), host->data(), nbytes);  // the host addresses device memory
  }
  return data;
}

c10::Storage HostCall::device_storage(const c10::Storage& host_storage, bool sole_owner) {
  c10::StorageImpl* host = host_storage.unsafeGetStorageImpl();
  for (const StorageAlias& alias : storages_) {
    if (alias.host.unsafeGetStorageImpl() == host) {
      return c10::Storage(c10::intrusive_ptr<c10::StorageImpl>::reclaim_copy(alias.device));
    }
  }
  const bool adopt = sole_owner && host_storage.use_count() == 1;
  c10::Storage storage(
      c10::make_intrusive<c10::StorageImpl>(
          c10::StorageImpl::use_byte_size_t(),
          host->nbytes(),
          take_memory(host, adopt),
          device_allocator(),
          /*resizable=*/true));
  if (adopt) {
    // The host storage now views the device one, so that later results that
    // share it share the device storage.
    host->set_data_ptr_noswap(alias_of(storage.unsafeGetStorageImpl()));
    storages_.push_back({storage.unsafeGetStorageImpl(), host_storage});
  }
  return storage;
}

at::Tensor HostCall::to_device(const at::Tensor& tensor) {
  if (!tensor.defined() || tensor.device().type() != c10::DeviceType::CPU) {
    return tensor;
  }
  if (copying_) {
    return upload_new(tensor, c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device_)));
  }
  for (const TensorAlias& alias : tensors_) {
    if (alias.host_impl == tensor.unsafeGetTensorImpl()) {
      write_back(alias.host_impl, alias.device);
      return alias.device;
    }
  }
  c10::Storage storage = device_storage(tensor.storage(), tensor.use_count() <= 1);
  return at::Tensor(tensor_over(std::move(storage), c10::DispatchKey::MTIA, tensor));
}

void HostCall::write_back(c10::TensorImpl* host, const at::Tensor& device) {
  c10::TensorImpl* target = device.unsafeGetTensorImpl();
  const c10::Storage& host_storage = host->storage();
  c10::StorageImpl* device_storage_impl = device.storage().unsafeGetStorageImpl();
  if (host_storage.data() != device_storage_impl->data() ||
      host_storage.nbytes() != device_storage_impl->nbytes()) {
    // The kernel resized the memory (an out= argument of the wrong size):
    // the new block becomes the device storage's.
    c10::StorageImpl* resized = host_storage.unsafeGetStorageImpl();
    device_storage_impl->set_data_ptr_noswap(take_memory(resized, /*may_adopt=*/true));
    device_storage_impl->set_nbytes(resized->nbytes());
    resized->set_data_ptr_noswap(alias_of(device_storage_impl));
  }
  if (!host->sizes().equals(target->sizes()) || !host->strides().equals(target->strides()) ||
      host->storage_offset() != target->storage_offset()) {
    target->set_sizes_and_strides(host->sizes(), host->strides(), host->storage_offset());
  }
}

void HostCall::write_back_arguments() {
  for (const TensorAlias& alias : tensors_) {
    write_back(alias.host_impl, alias.device);
  }
}

c10::IValue HostCall::to_host(const c10::IValue& value) {
  if (value.isTensor()) {
    return to_host(value.toTensor());
  }
  if (value.isTensorList()) {
    c10::List<at::Tensor> list = value.toTensorList();
    c10::List<at::Tensor> aliases;
    aliases.reserve(list.size());
    for (const at::Tensor& tensor : list) {
      aliases.push_back(to_host(tensor));
    }
    return aliases;
  }
  if (value.isOptionalTensorList()) {
    auto list = value.toOptionalTensorList();
    c10::List<std::optional<at::Tensor>> aliases;
    aliases.reserve(list.size());
    for (const std::optional<at::Tensor>& tensor : list) {
      aliases.push_back(to_host(tensor));
    }
    return aliases;
  }
  if (value.isDevice() && value.toDevice().type() == kDeviceType) {
    return c10::Device(c10::DeviceType::CPU);  // a factory's outputs come back here
  }
  return value;
}

c10::IValue HostCall::to_device(const c10::IValue& value) {
  if (value.isTensor()) {
    return to_device(value.toTensor());
  }
  if (value.isTensorList()) {
    c10::List<at::Tensor> list = value.toTensorList();
    c10::List<at::Tensor> results;
    results.reserve(list.size());
    for (const at::Tensor& tensor : list) {
      results.push_back(to_device(tensor));
    }
    return results;
  }
  return value;
}

}  // namespace fakedevice
