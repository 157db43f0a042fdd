// Random number generators for the emulated devices. Lazy initialisation of
// the device (torch.mtia's _lazy_init) asks the hooks for every device's
// default generator, so these must exist before anything else works.
#pragma once

#include <ATen/core/Generator.h>

namespace fakedevice {

// The device's default generator, created on first use. The index must be
// valid.
const at::Generator& default_generator(int device);

// A fresh generator for the device, seeded with torch's default seed.
at::Generator new_generator(int device);

}  // namespace fakedevice
