// The dtypes a tensor on the device can have: those the CPU kernels behind
// the device can fill and convert (no quantized, sub-byte or bit types).
// This list is the only one: torch.accelerator.get_device_capability reports
// it (torch 2.10 on), the extension's supported_dtypes() hands it to Python
// (the tests read it from there), and the kernels refuse the other dtypes when
// called rather than fail later on the stream.
#pragma once

#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <iterator>

#include "backend/common.h"

namespace fakedevice {

inline constexpr c10::ScalarType kSupportedDtypes[] = {
    c10::ScalarType::Bool,
    c10::ScalarType::Byte,
    c10::ScalarType::Char,
    c10::ScalarType::Short,
    c10::ScalarType::Int,
    c10::ScalarType::Long,
    c10::ScalarType::UInt16,
    c10::ScalarType::UInt32,
    c10::ScalarType::UInt64,
    c10::ScalarType::Half,
    c10::ScalarType::BFloat16,
    c10::ScalarType::Float,
    c10::ScalarType::Double,
    c10::ScalarType::ComplexHalf,
    c10::ScalarType::ComplexFloat,
    c10::ScalarType::ComplexDouble,
    c10::ScalarType::Float8_e5m2,
    c10::ScalarType::Float8_e4m3fn,
    c10::ScalarType::Float8_e5m2fnuz,
    c10::ScalarType::Float8_e4m3fnuz,
    c10::ScalarType::Float8_e8m0fnu,
};

inline bool is_supported_dtype(c10::ScalarType dtype) {
  return std::find(std::begin(kSupportedDtypes), std::end(kSupportedDtypes), dtype) !=
         std::end(kSupportedDtypes);
}

inline void check_supported_dtype(c10::ScalarType dtype, const char* operation) {
  TORCH_CHECK_NOT_IMPLEMENTED(
      is_supported_dtype(dtype),
      operation,
      " does not support dtype ",
      dtype,
      " on the ",
      kDeviceType,
      " device");
}

}  // namespace fakedevice
