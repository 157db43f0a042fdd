// Which PyTorch release the backend is compiled against, for the few places
// where the C++ API differs between the supported releases (2.9, 2.13, 2.14).
// Each use names the release that changed the API.
#pragma once

#include <torch/version.h>

#define FAKEDEVICE_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||             \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

static_assert(
    FAKEDEVICE_TORCH_AT_LEAST(2, 9) && !FAKEDEVICE_TORCH_AT_LEAST(2, 15),
    "this backend supports torch 2.9 to 2.14; see the README's "
    "'Supported PyTorch releases'");
