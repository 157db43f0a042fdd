// A port's driver adds no Python functions until it has some to add.
#include "backend/driver_extras.h"

namespace fakedevice {

void register_driver_extras(pybind11::module_& /*module*/) {}

}  // namespace fakedevice
