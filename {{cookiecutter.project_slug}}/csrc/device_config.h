// The template's answers that the C++ needs. This is the only C++ file
// cookiecutter renders; the rest is copied verbatim so that Jinja never
// touches C++ braces. Change a value here, or regenerate from the template.
#pragma once

#include <cstddef>

namespace fakedevice::config {

// How many emulated devices the backend reports.
inline constexpr int kDeviceCount = {{ cookiecutter.device_count | int }};

// The in-tree device slot the backend fills, as torch spells it.
inline constexpr char kDeviceTypeName[] = "{{ cookiecutter.device_type }}";

// What torch.{{ cookiecutter.device_type }}.get_device_properties reports.
inline constexpr char kDeviceName[] = {{ cookiecutter.device_name | quoted }};
inline constexpr int kCapabilityMajor = 1;
inline constexpr int kCapabilityMinor = 0;

// The environment variable that, set to 1, makes the emulator report its
// memory as not addressable by the host, so that the glue takes the copying
// paths a device with separate memory needs (tests/test_separate_memory.py).
inline constexpr char kSeparateMemoryVariable[] = "{{ cookiecutter.package_name | upper }}_SEPARATE_MEMORY";

// The oldest torch release the C++ is written for (the first of the template's
// _torch_releases, as src/{{ cookiecutter.package_name }}/_loader.py's SUPPORTED_TORCH): older ones
// lack APIs it uses, and csrc/backend/torch_version.h refuses them at compile time.
{%- set oldest = cookiecutter._torch_releases[0].split(".") %}
inline constexpr int kOldestTorchMajor = {{ oldest[0] | int }};
inline constexpr int kOldestTorchMinor = {{ oldest[1] | int }};

// Each device's memory capacity until set_memory_capacity() changes it.
inline constexpr std::size_t kDeviceMemoryBytes = static_cast<std::size_t>({{ cookiecutter.device_memory_mib | int }}) * 1024 * 1024;

}  // namespace fakedevice::config
