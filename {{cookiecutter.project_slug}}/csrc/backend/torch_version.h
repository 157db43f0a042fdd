// Which PyTorch release the backend is compiled against, for the few places
// where the C++ API differs between the supported releases.
// Each use names the release that changed the API.
#pragma once

#include <torch/version.h>

#include "device_config.h"

#define FAKEDEVICE_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||             \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// Only a floor: older releases lack APIs the backend uses. A release newer
// than the newest tested one is a question of policy, not of the API: the
// loader refuses it at import (UnsupportedTorchError), unless
// <PACKAGE>_ALLOW_UNTESTED_TORCH=1 asks to try it, and then it must compile.
static_assert(
    FAKEDEVICE_TORCH_AT_LEAST(
        fakedevice::config::kOldestTorchMajor, fakedevice::config::kOldestTorchMinor),
    "this torch is older than the oldest release the backend supports "
    "(kOldestTorchMajor/Minor in csrc/device_config.h); see the README's "
    "'Supported PyTorch releases'");
