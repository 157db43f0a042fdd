// The Python extension module. Loading it runs the static registrations of
// the glue (guard.cpp, hooks.cpp, the kernels), which is what installs the
// backend; the functions here are for what torch's API has no word for.
#include <ATen/detail/MTIAHooksInterface.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/csrc/utils/pybind.h>

#include <cstdint>
#include <iterator>
#include <vector>

#include "backend/check.h"
#include "backend/driver_extras.h"
#include "backend/dtypes.h"
#include "backend/fallback.h"
#include "backend/gil.h"
#include "backend/host_compute.h"
#include "device_config.h"
#include "driver/driver.h"

namespace py = pybind11;

PYBIND11_MODULE(TORCH_EXTENSION_NAME, module) {
  module.doc() = "A PyTorch backend for the device behind csrc/driver/driver.h";
  module.attr("device_type") = fakedevice::config::kDeviceTypeName;
  fakedevice::install_host_compute_allocator();
  fakedevice::route_functional_operators_to_host();

  module.def(
      "device_count",
      &fakedevice::driver::device_count,
      "Number of devices, as the driver itself reports it.");

  module.def(
      "device_from_pointer",
      [](std::uintptr_t address) {
        return at::detail::getMTIAHooks()
            .getDeviceFromPtr(reinterpret_cast<void*>(address))
            .index();
      },
      py::arg("address"),
      "The device index torch's hooks report for an address (getDeviceFromPtr).");

  module.def(
      "supported_dtypes",
      [] {
        return std::vector<c10::ScalarType>(
            std::begin(fakedevice::kSupportedDtypes), std::end(fakedevice::kSupportedDtypes));
      },
      "The dtypes a tensor on the device can have (backend/dtypes.h), as torch.dtype objects.");

  module.def(
      "mark_process_exiting",
      &fakedevice::mark_process_exiting,
      "Called at interpreter exit, before the driver stops: threads it wakes then wait for the "
      "process to end instead of going back into Python.");

  module.def(
      "sleep",
      [](double milliseconds, int device, int64_t stream_id) {
        const auto nanoseconds = static_cast<int64_t>(milliseconds * 1e6);
        FAKEDEVICE_CHECK(fakedevice::driver::launch_sleep_kernel({device, stream_id}, nanoseconds));
      },
      py::arg("milliseconds"),
      py::arg("device"),
      py::arg("stream_id"),
      "Queue a busy period on a stream; the package's sleep() checks the arguments.");

  fakedevice::register_driver_extras(module);

  void fakedevice_register_ipc(py::module_ & module);  // backend/ipc.cpp: tensor sharing
  fakedevice_register_ipc(module);
}
