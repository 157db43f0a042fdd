// Where driver errors cross into torch: every driver call the glue makes goes
// through FAKEDEVICE_CHECK (as CUDA calls go through C10_CUDA_CHECK), which
// turns a failed Status into the Python exception a user expects, with the
// driver's one-line message; FAKEDEVICE_CHECK_WARN is for the paths torch
// requires not to throw (destructors, uncheckedSetDevice).
#pragma once

#include <c10/macros/Macros.h>

#include "driver/driver.h"

namespace fakedevice {

// Throws c10::OutOfMemoryError (torch.OutOfMemoryError) for kOutOfMemory,
// c10::NotImplementedError for kNotSupported, and c10::Error (RuntimeError)
// otherwise.
[[noreturn]] void throw_driver_error(driver::Status status, const char* call);
void warn_driver_error(driver::Status status, const char* call) noexcept;

inline void check_driver(driver::Status status, const char* call) {
  if (C10_UNLIKELY(status != driver::Status::kSuccess)) {
    throw_driver_error(status, call);
  }
}

}  // namespace fakedevice

#define FAKEDEVICE_CHECK(call) ::fakedevice::check_driver((call), #call)

#define FAKEDEVICE_CHECK_WARN(call)                                    \
  do {                                                                 \
    const ::fakedevice::driver::Status fakedevice_status = (call);     \
    if (fakedevice_status != ::fakedevice::driver::Status::kSuccess) { \
      ::fakedevice::warn_driver_error(fakedevice_status, #call);       \
    }                                                                  \
  } while (0)
