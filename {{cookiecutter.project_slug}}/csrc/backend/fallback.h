// The boxed fallback that runs the CPU's kernels for the device (fallback.cpp).
#pragma once

namespace fakedevice {

// Sends the functional forms of structured operators (add.Tensor, mse_loss,
// ...) straight to the CPU's kernel, instead of torch's composite that
// allocates an output and calls the out= form. Called once, when the
// extension module loads (every aten operator is registered by then).
void route_functional_operators_to_host();

}  // namespace fakedevice
