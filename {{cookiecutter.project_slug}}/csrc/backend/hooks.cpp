// The MTIA hooks: how torch.mtia (and torch's lazy device initialisation)
// reaches the backend. torch finds them by the class name "MTIAHooks".
#include <ATen/detail/MTIAHooksInterface.h>

#include <string>

#include "backend/common.h"
#include "backend/generator.h"
#include "device_config.h"

namespace fakedevice {

struct MTIAHooks final : public at::MTIAHooksInterface {
  // torch >= 2.13 constructs hooks with no arguments.
  MTIAHooks() = default;

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
    const int previous = runtime::current_device();
    runtime::set_current_device(device);
    return static_cast<c10::DeviceIndex>(previous);
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

  const at::Generator& getDefaultGenerator(
      c10::DeviceIndex device_index) const override {
    return default_generator(resolve_device(device_index));
  }

  at::Generator getNewGenerator(c10::DeviceIndex device_index) const override {
    return new_generator(resolve_device(device_index));
  }
};

using at::MTIAHooksRegistry;
using at::RegistererMTIAHooksRegistry;
REGISTER_MTIA_HOOKS(MTIAHooks);

}  // namespace fakedevice
