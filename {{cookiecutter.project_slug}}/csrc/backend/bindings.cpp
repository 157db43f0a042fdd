// The Python extension module. Loading it runs the static registrations in
// guard.cpp and hooks.cpp, which is what installs the backend; the functions
// here expose the runtime directly, beside torch's own API.
#include <pybind11/pybind11.h>

#include "device_config.h"
#include "runtime/runtime.h"

namespace py = pybind11;

PYBIND11_MODULE(TORCH_EXTENSION_NAME, module) {
  module.doc() = "Emulated device runtime and its PyTorch registrations";
  module.attr("device_type") = fakedevice::config::kDeviceTypeName;
  module.def(
      "device_count",
      &fakedevice::runtime::device_count,
      "Number of emulated devices, as the runtime itself reports it.");
}
