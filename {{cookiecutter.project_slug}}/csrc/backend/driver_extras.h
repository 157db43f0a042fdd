// Python functions a driver adds beyond what torch's API reaches: the
// emulator adds memory capacity, its counters and injected faults
// (emulator/python.cpp); a port's driver may add none (skeleton/python.cpp).
// bindings.cpp calls this once, on the extension module.
#pragma once

#include <pybind11/pybind11.h>

namespace fakedevice {

void register_driver_extras(pybind11::module_& module);

}  // namespace fakedevice
