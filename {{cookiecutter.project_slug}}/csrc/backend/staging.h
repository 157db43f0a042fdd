// The copying paths, for devices whose memory the host cannot address
// (driver::DeviceProperties::host_addressable false): data moves between
// device and host memory only through the driver's memcpy. The emulator
// takes these paths when its separate-memory switch is set (see the README).
#pragma once

#include <ATen/core/Tensor.h>

namespace fakedevice {

// A host tensor with the values of a device tensor, after the work queued
// on its device's current stream (waits for it).
at::Tensor download(const at::Tensor& device_tensor);

// Writes a host tensor's values (broadcast to the shape) into a device
// tensor, in order on its current stream, and waits for the copy.
void upload(const at::Tensor& host_values, const at::Tensor& device_tensor);

// A new device tensor on `device` with a host tensor's values.
at::Tensor upload_new(const at::Tensor& host_values, c10::Device device);

}  // namespace fakedevice
