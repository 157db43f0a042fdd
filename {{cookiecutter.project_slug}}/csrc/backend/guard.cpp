// The device guard: how c10 (DeviceGuard, StreamGuard, c10::Event,
// torch.Stream, torch.Event and most of torch.accelerator) drives the device.
// Each override is a few lines over the driver; comments give the contract
// torch relies on.
#include "backend/guard.h"

#include <cstdint>

#include "backend/allocator.h"
#include "backend/dtypes.h"
#include "backend/gil.h"
#include "backend/streams.h"
#include "backend/torch_version.h"

namespace fakedevice {

GuardImpl::GuardImpl(c10::DeviceType type) {
  TORCH_INTERNAL_ASSERT(type == kDeviceType, "GuardImpl is the guard of ", kDeviceType);
}

c10::DeviceType GuardImpl::type() const {
  return kDeviceType;
}

c10::Device GuardImpl::exchangeDevice(c10::Device device) const {
  const int target = resolve_device(device);
  const int previous = current_device();
  if (previous != target) {
    FAKEDEVICE_CHECK(driver::set_device(target));
  }
  return c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(previous));
}

c10::Device GuardImpl::getDevice() const {
  return c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(current_device()));
}

void GuardImpl::setDevice(c10::Device device) const {
  FAKEDEVICE_CHECK(driver::set_device(resolve_device(device)));
}

// Called from guard destructors: must not throw, so a failure is a warning.
void GuardImpl::uncheckedSetDevice(c10::Device device) const noexcept {
  try {
    FAKEDEVICE_CHECK_WARN(driver::set_device(resolve_device(device)));
  } catch (const std::exception& error) {
    warn_driver_error(driver::Status::kInvalidDevice, error.what());
  }
}

c10::Stream GuardImpl::getStream(c10::Device device) const {
  return to_torch(current_stream(resolve_device(device)));
}

c10::Stream GuardImpl::getDefaultStream(c10::Device device) const {
  return to_torch(default_stream(resolve_device(device)));
}

c10::Stream GuardImpl::getStreamFromGlobalPool(c10::Device device, bool /*isHighPriority*/) const {
  return to_torch(pool_stream(resolve_device(device)));
}

// torch.Stream() lands here with index -1 for the current device.
c10::Stream GuardImpl::getNewStream(c10::Device device, int /*priority*/) const {
  return to_torch(new_stream(resolve_device(device)));
}

// Sets the current stream of the stream's device; the current device stays.
c10::Stream GuardImpl::exchangeStream(c10::Stream stream) const {
  return to_torch(exchange_stream(from_torch(stream)));
}

c10::DeviceIndex GuardImpl::deviceCount() const noexcept {
  return static_cast<c10::DeviceIndex>(driver::device_count());
}

// Creates the event on first record. BACKEND_DEFAULT is what
// torch.Event(enable_timing=True) asks for; PYTORCH_DEFAULT has no timing.
void GuardImpl::record(
    void** event,
    const c10::Stream& stream,
    const c10::DeviceIndex device_index,
    const c10::EventFlag flag) const {
  const driver::Stream target = from_torch(stream);
  TORCH_CHECK(
      device_index < 0 || device_index == target.device,
      "event on device index ",
      static_cast<int>(device_index),
      " cannot be recorded on a stream of device index ",
      target.device);
  if (*event == nullptr) {
    unsigned flags = 0;
    switch (flag) {
      case c10::EventFlag::PYTORCH_DEFAULT:
        flags = driver::kEventDisableTiming;
        break;
      case c10::EventFlag::BACKEND_DEFAULT:
        flags = driver::kEventDefault;
        break;
      default:
        TORCH_CHECK(false, "unknown event flag ", static_cast<int>(flag), " for ", kDeviceType);
    }
    driver::Event created = nullptr;
    FAKEDEVICE_CHECK(driver::event_create(target.device, flags, &created));
    *event = to_handle(created);
  }
  FAKEDEVICE_CHECK(driver::event_record(from_handle(*event), target));
}

// Waiting on an event that was never recorded is a no-op.
void GuardImpl::block(void* event, const c10::Stream& stream) const {
  if (event != nullptr) {
    FAKEDEVICE_CHECK(driver::stream_wait_event(from_torch(stream), from_handle(event)));
  }
}

// An event that was never recorded counts as complete.
bool GuardImpl::queryEvent(void* event) const {
  if (event == nullptr) {
    return true;
  }
  const driver::Status status = driver::event_query(from_handle(event));
  if (status == driver::Status::kNotReady) {
    return false;
  }
  FAKEDEVICE_CHECK(status);
  return true;
}

void GuardImpl::synchronizeEvent(void* event) const {
  if (event != nullptr) {
    GilReleased no_gil;  // free when the caller (torch.Event) released it already
    FAKEDEVICE_CHECK(driver::event_synchronize(from_handle(event)));
  }
}

// torch has already checked that both events were recorded, completed and
// created with timing.
double GuardImpl::elapsedTime(
    void* start, void* end, const c10::DeviceIndex /*device_index*/) const {
  double milliseconds = 0;
  FAKEDEVICE_CHECK(driver::event_elapsed_time(from_handle(start), from_handle(end), &milliseconds));
  return milliseconds;
}

// Called from c10::Event's destructor with any event this guard created.
void GuardImpl::destroyEvent(void* event, const c10::DeviceIndex /*device_index*/) const noexcept {
  FAKEDEVICE_CHECK_WARN(driver::event_destroy(from_handle(event)));
}

bool GuardImpl::queryStream(const c10::Stream& stream) const {
  const driver::Status status = driver::stream_query(from_torch(stream));
  if (status == driver::Status::kNotReady) {
    return false;
  }
  FAKEDEVICE_CHECK(status);
  return true;
}

void GuardImpl::synchronizeStream(const c10::Stream& stream) const {
  const driver::Stream target = from_torch(stream);
  GilReleased no_gil;
  FAKEDEVICE_CHECK(driver::stream_synchronize(target));
}

// Keeps a tensor's memory until the stream has finished the work queued on
// it so far (tensor.record_stream).
void GuardImpl::recordDataPtrOnStream(const c10::DataPtr& data, const c10::Stream& stream) const {
  record_data_ptr_on_stream(data, stream);
}

void GuardImpl::synchronizeDevice(const c10::DeviceIndex device_index) const {
  synchronize_device(resolve_device(device_index));
}

#if FAKEDEVICE_TORCH_AT_LEAST(2, 10)
// torch.accelerator.get_device_capability (torch 2.10 on): the dtypes a tensor on the
// device can have and be converted to and from (dtypes.h).
c10::DeviceCapability GuardImpl::getDeviceCapability(c10::Device device) const {
  resolve_device(device);
  c10::DeviceCapability capability;
  auto& supported = capability.capability_data.supported_scalar_types;
#define FAKEDEVICE_REPORT_DTYPE(_, name) \
  supported.has_##name = is_supported_dtype(c10::ScalarType::name);
  AT_FORALL_SCALAR_TYPES_WITH_COMPLEX_AND_QINTS(FAKEDEVICE_REPORT_DTYPE)
#undef FAKEDEVICE_REPORT_DTYPE
  return capability;
}

#endif

#if FAKEDEVICE_TORCH_AT_LEAST(2, 11)
// torch.Stream.native_handle (torch 2.11 on): the stream id as a pointer, so the default
// stream's handle is null, as CUDA's legacy default stream's is.
void* GuardImpl::getStreamNativeHandle(const c10::Stream stream) const {
  const driver::Stream target = from_torch(stream);
  FAKEDEVICE_CHECK(driver::stream_check(target));
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(target.id));
}

#endif

#if FAKEDEVICE_TORCH_AT_LEAST(2, 12)
// torch.Stream.is_capturing (torch 2.12 on, where the default throws): true while the stream
// records an MTIA graph.
bool GuardImpl::isStreamCapturing(const c10::Stream& stream) const {
  bool capturing = false;
  FAKEDEVICE_CHECK(driver::stream_is_capturing(from_torch(stream), &capturing));
  return capturing;
}
#endif

// torch.mtia.synchronize() calls this with the GIL held; other Python
// threads run while it waits.
void synchronize_device(int device) {
  GilReleased no_gil;
  FAKEDEVICE_CHECK(driver::device_synchronize(device));
}

C10_REGISTER_GUARD_IMPL(MTIA, GuardImpl);

}  // namespace fakedevice
