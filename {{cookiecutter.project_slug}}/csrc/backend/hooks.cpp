// The MTIA hooks: how torch.mtia (and torch's lazy device initialisation)
// reaches the backend. torch finds them by the class name "MTIAHooks".
#include <ATen/detail/MTIAHooksInterface.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "backend/allocator.h"
#include "backend/common.h"
#include "backend/generator.h"
#include "backend/torch_version.h"
#include "device_config.h"

namespace fakedevice {

struct MTIAHooks final : public at::MTIAHooksInterface {
  // The hooks registry constructs the hooks with MTIAHooksArgs in torch 2.9
  // and with no arguments in 2.13 and later.
#if FAKEDEVICE_TORCH_AT_LEAST(2, 13)
  MTIAHooks() = default;
#else
  explicit MTIAHooks(at::MTIAHooksArgs /*unused*/) {}
#endif

  // The runtime needs no set-up. Must not call back into torch's lazy init:
  // lazy init is what calls this.
  void init() const override {}

  bool isBuilt() const override {
    return true;
  }

  bool hasMTIA() const override {
    return true;
  }

  bool isAvailable() const override {
    return runtime::device_count() > 0;
  }

  // Must not trigger lazy init: torch.mtia._lazy_init asks for the device
  // count while holding its (non re-entrant) initialisation lock.
  c10::DeviceIndex deviceCount() const override {
    return static_cast<c10::DeviceIndex>(runtime::device_count());
  }

  c10::DeviceIndex getDeviceCount() const override {
    return deviceCount();
  }

  std::string showConfig() const override {
    return std::string("emulated ") + config::kDeviceTypeName + " backend, " +
           std::to_string(runtime::device_count()) + " devices\n";
  }

  bool hasPrimaryContext(c10::DeviceIndex device_index) const override {
    return device_index >= 0 && device_index < runtime::device_count();
  }

  void setCurrentDevice(c10::DeviceIndex device) const override {
    runtime::set_current_device(device);
  }

  c10::DeviceIndex getCurrentDevice() const override {
    return static_cast<c10::DeviceIndex>(runtime::current_device());
  }

  c10::DeviceIndex exchangeDevice(c10::DeviceIndex device) const override {
    return static_cast<c10::DeviceIndex>(runtime::exchange_device(device));
  }

  c10::DeviceIndex maybeExchangeDevice(c10::DeviceIndex device) const override {
    return exchangeDevice(device);
  }

  void deviceSynchronize(c10::DeviceIndex device_index) const override {
    runtime::synchronize_device(resolve_device(device_index));
  }

  c10::Stream getCurrentStream(c10::DeviceIndex device_index) const override {
    return to_torch(runtime::current_stream(resolve_device(device_index)));
  }

  int64_t getCurrentRawStream(c10::DeviceIndex device_index) const override {
    return runtime::current_stream(resolve_device(device_index)).id;
  }

  c10::Stream getDefaultStream(c10::DeviceIndex device_index) const override {
    return to_torch(runtime::default_stream(resolve_device(device_index)));
  }

  // torch.mtia.set_stream has already made the stream's device current.
  void setCurrentStream(const c10::Stream& stream) const override {
    runtime::exchange_stream(from_torch(stream));
  }

  const at::Generator& getDefaultGenerator(c10::DeviceIndex device_index) const override {
    return default_generator(resolve_device(device_index));
  }

  at::Generator getNewGenerator(c10::DeviceIndex device_index) const override {
    return new_generator(resolve_device(device_index));
  }

  // tensor.pin_memory() and is_pinned() ask the current accelerator's hooks.
  bool isPinnedPtr(const void* data) const override {
    return is_pinned_host_pointer(data);
  }

  c10::Allocator* getPinnedMemoryAllocator() const override {
    return pinned_host_allocator();
  }

  // torch.from_blob(..., device inferred) and friends.
  c10::Device getDeviceFromPtr(void* data) const override {
    const int device = runtime::device_of_pointer(data);
    TORCH_CHECK(device >= 0, "pointer ", data, " is not in ", kDeviceType, " device memory");
    return c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device));
  }

  // torch.mtia.empty_cache. The runtime caches no device memory.
  void emptyCache() const override {}

  // torch.mtia.memory_stats, memory_allocated, max_memory_allocated read
  // the "dram" entry. Called with the GIL held.
  PyObject* memoryStats(c10::DeviceIndex device_index) const override {
    const runtime::MemoryStats stats = runtime::memory_stats(resolve_device(device_index));
    pybind11::dict dram;
    dram["allocated_bytes"] = stats.allocated;
    dram["peak_bytes"] = stats.peak_allocated;
    dram["total_bytes"] = stats.capacity;
    dram["free_bytes"] = stats.free_bytes();
    dram["num_allocs"] = stats.allocations;
    dram["num_frees"] = stats.frees;
    dram["num_ooms"] = stats.out_of_memory_errors;
    pybind11::dict result;
    result["dram"] = dram;
    return result.release().ptr();
  }

  void resetPeakMemoryStats(c10::DeviceIndex device_index) const override {
    runtime::reset_peak_memory(resolve_device(device_index));
  }

  // torch.mtia.get_device_properties. Called with the GIL held.
  PyObject* getDeviceProperties(c10::DeviceIndex device_index) const override {
    const runtime::MemoryStats stats = runtime::memory_stats(resolve_device(device_index));
    pybind11::dict properties;
    properties["name"] = config::kDeviceName;
    properties["total_memory"] = stats.capacity;
    properties["major"] = config::kCapabilityMajor;
    properties["minor"] = config::kCapabilityMinor;
    return properties.release().ptr();
  }

  // torch.mtia.get_device_capability: (major, minor).
  PyObject* getDeviceCapability(c10::DeviceIndex device_index) const override {
    runtime::check_device(resolve_device(device_index));
    return pybind11::make_tuple(config::kCapabilityMajor, config::kCapabilityMinor).release().ptr();
  }

#if FAKEDEVICE_TORCH_AT_LEAST(2, 13)
  // MTIA graphs (torch.mtia.MTIAGraph, torch.mtia.graph), from torch 2.13 on.
  // A graph captures the work submitted to the current stream between
  // capture_begin and capture_end, and replays it on the current stream.

  int64_t mtiagraphCreate(bool keep_graph) const override {
    return runtime::create_graph(keep_graph);
  }

  void mtiagraphDestroy(int64_t handle) const override {
    runtime::destroy_graph(handle);
  }

  void mtiagraphCaptureBegin(int64_t handle, at::MempoolId_t pool) const override {
    runtime::begin_capture(handle, current_stream());
    std::lock_guard<std::mutex> lock(pools_mutex_);
    // A zero pool id means "a private pool of its own", as for CUDA graphs.
    pools_[handle] = pool == at::MempoolId_t{0, 0}
                         ? at::MempoolId_t{static_cast<at::CaptureId_t>(handle), 0}
                         : pool;
  }

  void mtiagraphCaptureEnd(int64_t handle) const override {
    runtime::end_capture(handle);
  }

  void mtiagraphInstantiate(int64_t handle) const override {
    runtime::instantiate_graph(handle);
  }

  void mtiagraphReplay(int64_t handle) const override {
    runtime::replay_graph(handle, current_stream());
  }

  void mtiagraphReset(int64_t handle) const override {
    runtime::reset_graph(handle);
  }

  at::MempoolId_t mtiagraphPool(int64_t handle) const override {
    std::lock_guard<std::mutex> lock(pools_mutex_);
    auto it = pools_.find(handle);
    TORCH_CHECK(it != pools_.end(), "MTIA graph ", handle, " has never captured");
    return it->second;
  }

  // torch.mtia.graph_pool_handle: a fresh pool id, shareable between graphs.
  at::MempoolId_t graphPoolHandle() const override {
    return {0, next_pool_id_.fetch_add(1)};
  }

 private:
  static runtime::Stream current_stream() {
    return runtime::current_stream(runtime::current_device());
  }

  mutable std::mutex pools_mutex_;
  mutable std::unordered_map<int64_t, at::MempoolId_t> pools_;
  mutable std::atomic<at::CaptureId_t> next_pool_id_{1};
#endif
};

using at::MTIAHooksRegistry;
using at::RegistererMTIAHooksRegistry;
REGISTER_MTIA_HOOKS(MTIAHooks);

}  // namespace fakedevice
