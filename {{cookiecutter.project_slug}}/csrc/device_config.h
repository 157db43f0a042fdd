// The template's answers that the C++ needs. This is the only C++ file
// cookiecutter renders; the rest is copied verbatim so that Jinja never
// touches C++ braces. Change a value here, or regenerate from the template.
#pragma once

namespace fakedevice::config {

// How many emulated devices the backend reports.
inline constexpr int kDeviceCount = {{ cookiecutter.device_count | int }};

// The in-tree device slot the backend fills, as torch spells it.
inline constexpr char kDeviceTypeName[] = "{{ cookiecutter.device_type }}";

}  // namespace fakedevice::config
