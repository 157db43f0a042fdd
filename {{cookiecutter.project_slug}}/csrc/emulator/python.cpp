// The emulator's own Python functions (emulator.h), added to the extension
// module beside the glue's. The package's set_memory_capacity() and
// memory_capacity() check their arguments and call these.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "backend/driver_extras.h"
#include "emulator/emulator.h"

namespace py = pybind11;

namespace fakedevice {
namespace {

void check(driver::Status status) {
  if (status != driver::Status::kSuccess) {
    throw std::runtime_error(driver::last_error_message());
  }
}

}  // namespace

void register_driver_extras(py::module_& module) {
  module.def(
      "queue_fault",
      [](int device, int64_t stream_id, std::string message) {
        check(emulator::queue_fault(driver::Stream{device, stream_id}, std::move(message)));
      },
      py::arg("device"),
      py::arg("stream_id"),
      py::arg("message"),
      "Queue work that fails with `message` when the stream reaches it (for tests).");

  module.def(
      "set_memory_capacity",
      [](int device, std::size_t bytes) { check(emulator::set_memory_capacity(device, bytes)); },
      py::arg("device"),
      py::arg("bytes"),
      "Set how many bytes the device may hold.");

  module.def(
      "memory_capacity",
      [](int device) {
        std::size_t bytes = 0;
        check(emulator::memory_capacity(device, &bytes));
        return bytes;
      },
      py::arg("device"),
      "How many bytes the device may hold.");

  module.def("live_event_count", &emulator::live_event_count, "Events whose memory is still held.");

  module.def(
      "worker_thread_count",
      &emulator::worker_thread_count,
      "The emulator's worker threads alive now.");

  module.def(
      "max_worker_threads",
      &emulator::max_worker_threads,
      "The most worker threads the emulator starts.");

  module.def(
      "shutdown",
      &emulator::shutdown,
      py::call_guard<py::gil_scoped_release>(),
      "Drop queued work and stop the emulator's threads; runs at exit.");
}

}  // namespace fakedevice
