// The MTIA hooks: how torch.mtia (and torch's lazy device initialisation)
// reaches the backend. torch finds them by the class name "MTIAHooks".
#include <ATen/detail/MTIAHooksInterface.h>
#include <pybind11/pybind11.h>

#include <string>

#include "backend/allocator.h"
#include "backend/common.h"
#include "backend/generator.h"
#include "backend/graph_pools.h"
#include "backend/guard.h"
#include "backend/memory_history.h"
#include "backend/streams.h"
#include "backend/torch_version.h"

namespace fakedevice {

struct MTIAHooks final : public at::MTIAHooksInterface {
  // The hooks registry constructs the hooks with MTIAHooksArgs up to torch
  // 2.12 and with no arguments from 2.13 on.
#if FAKEDEVICE_TORCH_AT_LEAST(2, 13)
  MTIAHooks() = default;
#else
  explicit MTIAHooks(at::MTIAHooksArgs /*unused*/) {}
#endif

  // The driver needs no set-up. Must not call back into torch's lazy init:
  // lazy init is what calls this.
  void init() const override {}

  bool isBuilt() const override {
    return true;
  }

  bool hasMTIA() const override {
    return true;
  }

  bool isAvailable() const override {
    return driver::device_count() > 0;
  }

  // Must not trigger lazy init: torch.mtia._lazy_init asks for the device
  // count while holding its (non re-entrant) initialisation lock.
  c10::DeviceIndex deviceCount() const override {
    return static_cast<c10::DeviceIndex>(driver::device_count());
  }

  c10::DeviceIndex getDeviceCount() const override {
    return deviceCount();
  }

  std::string showConfig() const override {
    return std::string("emulated ") + config::kDeviceTypeName + " backend, " +
           std::to_string(driver::device_count()) + " devices\n";
  }

  bool hasPrimaryContext(c10::DeviceIndex device_index) const override {
    return device_index >= 0 && device_index < driver::device_count();
  }

  void setCurrentDevice(c10::DeviceIndex device) const override {
    FAKEDEVICE_CHECK(driver::set_device(checked_device(device)));
  }

  c10::DeviceIndex getCurrentDevice() const override {
    return static_cast<c10::DeviceIndex>(current_device());
  }

  c10::DeviceIndex exchangeDevice(c10::DeviceIndex device) const override {
    const int previous = current_device();
    FAKEDEVICE_CHECK(driver::set_device(resolve_device(device)));
    return static_cast<c10::DeviceIndex>(previous);
  }

  c10::DeviceIndex maybeExchangeDevice(c10::DeviceIndex device) const override {
    return exchangeDevice(device);
  }

  // torch.mtia.synchronize() holds the GIL; the wait releases it.
  void deviceSynchronize(c10::DeviceIndex device_index) const override {
    synchronize_device(resolve_device(device_index));
  }

  c10::Stream getCurrentStream(c10::DeviceIndex device_index) const override {
    return to_torch(current_stream(resolve_device(device_index)));
  }

  int64_t getCurrentRawStream(c10::DeviceIndex device_index) const override {
    return current_stream(resolve_device(device_index)).id;
  }

  c10::Stream getDefaultStream(c10::DeviceIndex device_index) const override {
    return to_torch(default_stream(resolve_device(device_index)));
  }

  // torch.mtia.set_stream has already made the stream's device current.
  void setCurrentStream(const c10::Stream& stream) const override {
    exchange_stream(from_torch(stream));
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
    driver::PointerAttributes attributes;
    FAKEDEVICE_CHECK(driver::pointer_get_attributes(data, &attributes));
    TORCH_CHECK(
        attributes.type == driver::MemoryType::kDevice,
        "pointer ",
        data,
        " is not in ",
        kDeviceType,
        " device memory");
    return c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(attributes.device));
  }

  // torch.mtia.empty_cache. The allocator caches no device memory.
  void emptyCache() const override {}

  // torch.mtia.memory_stats, memory_allocated, max_memory_allocated read
  // the "dram" entry: what torch holds (the allocator's statistics) and what
  // the device has left (the driver's). Called with the GIL held.
  PyObject* memoryStats(c10::DeviceIndex device_index) const override {
    const int device = resolve_device(device_index);
    const MemoryStats stats = memory_stats(device);
    driver::MemoryInfo info;
    FAKEDEVICE_CHECK(driver::mem_get_info(device, &info));
    pybind11::dict dram;
    dram["allocated_bytes"] = stats.allocated;
    dram["peak_bytes"] = stats.peak_allocated;
    dram["total_bytes"] = info.total;
    dram["free_bytes"] = info.free;
    dram["num_allocs"] = stats.allocations;
    dram["num_frees"] = stats.frees;
    dram["num_ooms"] = stats.out_of_memory_errors;
    pybind11::dict result;
    result["dram"] = dram;
    return result.release().ptr();
  }

  void resetPeakMemoryStats(c10::DeviceIndex device_index) const override {
    reset_peak_memory_stats(resolve_device(device_index));
  }

  // torch.mtia.record_memory_history, snapshot and
  // attach_out_of_memory_observer (memory_history.h). Called with the GIL held.
  void recordMemoryHistory(
      const std::optional<std::string>& enabled,
      const std::string& stacks,
      size_t max_entries) const override {
    memory_history::record_history(enabled, stacks, max_entries);
  }

  PyObject* memorySnapshot(const std::optional<std::string>& local_path) const override {
    return memory_history::snapshot(local_path);
  }

  void attachOutOfMemoryObserver(PyObject* observer) const override {
    memory_history::attach_out_of_memory_observer(observer);
  }

  // torch.mtia.get_device_properties. Called with the GIL held.
  PyObject* getDeviceProperties(c10::DeviceIndex device_index) const override {
    driver::DeviceProperties properties;
    FAKEDEVICE_CHECK(driver::get_device_properties(resolve_device(device_index), &properties));
    pybind11::dict result;
    result["name"] = properties.name;
    result["total_memory"] = properties.total_memory;
    result["major"] = properties.major;
    result["minor"] = properties.minor;
    return result.release().ptr();
  }

  // torch.mtia.get_device_capability: (major, minor).
  PyObject* getDeviceCapability(c10::DeviceIndex device_index) const override {
    driver::DeviceProperties properties;
    FAKEDEVICE_CHECK(driver::get_device_properties(resolve_device(device_index), &properties));
    return pybind11::make_tuple(properties.major, properties.minor).release().ptr();
  }

#if FAKEDEVICE_TORCH_AT_LEAST(2, 10)
  // MTIA graphs (torch.mtia.MTIAGraph, torch.mtia.graph), from torch 2.10 on.
  int64_t mtiagraphCreate(bool keep_graph) const override {
    return create_graph(keep_graph);
  }

  void mtiagraphDestroy(int64_t handle) const override {
    destroy_graph(handle);
  }

  void mtiagraphCaptureBegin(int64_t handle, at::MempoolId_t pool) const override {
    begin_graph_capture(handle, pool);
  }

  void mtiagraphCaptureEnd(int64_t handle) const override {
    end_graph_capture(handle);
  }

  void mtiagraphInstantiate(int64_t handle) const override {
    instantiate_graph(handle);
  }

  void mtiagraphReplay(int64_t handle) const override {
    replay_graph(handle);
  }

  void mtiagraphReset(int64_t handle) const override {
    reset_graph(handle);
  }

  at::MempoolId_t mtiagraphPool(int64_t handle) const override {
    return graph_pool(handle);
  }

  at::MempoolId_t graphPoolHandle() const override {
    return new_graph_pool();
  }
#endif

#if FAKEDEVICE_TORCH_AT_LEAST(2, 15)
  // torch.mtia.is_current_stream_capturing, from torch 2.15 on.
  bool isCurrentStreamCapturing() const override {
    bool capturing = false;
    FAKEDEVICE_CHECK(driver::stream_is_capturing(current_stream(current_device()), &capturing));
    return capturing;
  }
#endif
};

using at::MTIAHooksRegistry;
using at::RegistererMTIAHooksRegistry;
REGISTER_MTIA_HOOKS(MTIAHooks);

}  // namespace fakedevice
