#include "backend/kernels.h"

#include <ATen/ops/from_blob.h>

#include <array>
#include <mutex>
#include <stdexcept>

namespace fakedevice {

bool host_addressable(int device) {
  static std::array<std::once_flag, kMaxDevices> read;
  static std::array<bool, kMaxDevices> addressable{};
  std::call_once(read[checked_device(device)], [device] {
    driver::DeviceProperties properties;
    FAKEDEVICE_CHECK(driver::get_device_properties(device, &properties));
    addressable[device] = properties.host_addressable;
  });
  return addressable[device];
}

KernelArg::KernelArg(const at::Tensor& tensor)
    : data(tensor.data_ptr()),
      sizes(tensor.sizes().vec()),
      strides(tensor.strides().vec()),
      dtype(tensor.scalar_type()),
      conjugate(tensor.is_conj()),
      negative(tensor.is_neg()) {}

at::Tensor KernelArg::view() const {
  at::Tensor tensor =
      at::from_blob(data, sizes, strides, at::TensorOptions().dtype(dtype).device(at::kCPU));
  tensor._set_conj(conjugate);
  tensor._set_neg(negative);
  return tensor;
}

void launch(
    driver::Stream stream,
    const char* name,
    std::function<void()> body,
    std::vector<const void*> uses) {
  driver::Kernel kernel;
  kernel.name = name;
  // torch's errors carry a C++ backtrace in what(); the driver reports one line.
  kernel.run = [body = std::move(body)] {
    try {
      body();
    } catch (const c10::Error& error) {
      throw std::runtime_error(error.what_without_backtrace());
    }
  };
  kernel.uses = std::move(uses);
  kernel.short_host_code = true;  // a copy or fill: quicker here than a thread hop
  FAKEDEVICE_CHECK(driver::launch_kernel(std::move(kernel), stream));
}

}  // namespace fakedevice
