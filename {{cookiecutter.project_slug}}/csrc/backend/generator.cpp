#include "backend/generator.h"

#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <mutex>

#include "backend/common.h"

namespace fakedevice {
namespace {

// A CPU Mersenne Twister that reports the emulated device as its device, so
// torch files it under that device (torch.mtia.default_generators,
// torch.Generator(device="mtia")).
class DeviceGenerator final : public at::CPUGeneratorImpl {
 public:
  explicit DeviceGenerator(int device) {
    device_ = c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device));
    key_set_ = c10::DispatchKeySet(c10::DispatchKey::MTIA);
  }

 private:
  DeviceGenerator* clone_impl() const override {
    auto* copy = new DeviceGenerator(device_.index());
    // The serialised state holds the engine and any cached normal sample.
    copy->set_state(*get_state());
    return copy;
  }
};

}  // namespace

const at::Generator& default_generator(int device) {
  checked_device(device);
  static std::array<std::once_flag, kMaxDevices> created;
  static std::array<at::Generator, kMaxDevices> generators;
  std::call_once(created[device], [device] {
    generators[device] = at::make_generator<DeviceGenerator>(device);
  });
  return generators[device];
}

at::Generator new_generator(int device) {
  checked_device(device);
  return at::make_generator<DeviceGenerator>(device);
}

}  // namespace fakedevice
