// The Python extension module. Loading it runs the static registrations in
// guard.cpp and hooks.cpp, which is what installs the backend; the functions
// here reach the runtime directly, for what torch's API has no word for.
#include <ATen/detail/MTIAHooksInterface.h>
#include <pybind11/pybind11.h>

#include <chrono>
#include <cstdint>

#include "device_config.h"
#include "runtime/runtime.h"

namespace py = pybind11;
namespace runtime = fakedevice::runtime;

PYBIND11_MODULE(TORCH_EXTENSION_NAME, module) {
  module.doc() = "Emulated device runtime and its PyTorch registrations";
  module.attr("device_type") = fakedevice::config::kDeviceTypeName;

  module.def(
      "device_count",
      &runtime::device_count,
      "Number of emulated devices, as the runtime itself reports it.");

  module.def(
      "sleep",
      [](double milliseconds, int device, int64_t stream_id) {
        runtime::sleep(
            runtime::Stream{device, stream_id},
            std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::duration<double, std::milli>(milliseconds)));
      },
      py::arg("milliseconds"),
      py::arg("device"),
      py::arg("stream_id"),
      "Enqueue a busy period on a stream; arguments are checked by the "
      "Python wrapper.");

  module.def(
      "live_event_count", &runtime::live_event_count, "Events created and not yet destroyed.");

  module.def(
      "set_memory_capacity",
      [](int device, std::size_t bytes) { runtime::set_memory_capacity(device, bytes); },
      py::arg("device"),
      py::arg("bytes"),
      "Set how many bytes the device may hold.");

  module.def(
      "memory_capacity",
      [](int device) { return runtime::memory_stats(device).capacity; },
      py::arg("device"),
      "How many bytes the device may hold.");

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
      "shutdown",
      &runtime::shutdown,
      py::call_guard<py::gil_scoped_release>(),
      "Drop queued work and stop the runtime's threads; runs at exit.");
}
