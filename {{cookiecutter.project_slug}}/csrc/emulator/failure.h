// How the emulator reports errors: internally it throws Failure, naming what
// is wrong; at the driver API's edge, translate() turns any exception into a
// Status and the thread's last error message, so no exception crosses the
// API, as none crosses a C driver's.
#pragma once

#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "device_config.h"
#include "driver/driver.h"

namespace fakedevice::emulator {

class Failure : public std::exception {
 public:
  Failure(driver::Status status, std::string message)
      : status_(status), message_(std::move(message)) {}
  const char* what() const noexcept override {
    return message_.c_str();
  }
  driver::Status status() const noexcept {
    return status_;
  }

 private:
  driver::Status status_;
  std::string message_;
};

[[noreturn]] inline void fail(driver::Status status, std::string message) {
  throw Failure(status, std::move(message));
}

void set_last_error(std::string message) noexcept;

// Runs `body` (returning void or a Status) and turns what it throws into a
// Status, keeping the message for last_error_message().
template <typename Body>
driver::Status translate(Body&& body) noexcept {
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      return driver::Status::kSuccess;
    } else {
      return body();
    }
  } catch (const Failure& failure) {
    set_last_error(failure.what());
    return failure.status();
  } catch (const std::bad_alloc&) {
    set_last_error("the host ran out of memory in the emulator");
    return driver::Status::kOutOfMemory;
  } catch (const std::exception& error) {
    set_last_error(error.what());
    return driver::Status::kInternal;
  } catch (...) {
    set_last_error("unknown error in the emulator");
    return driver::Status::kInternal;
  }
}

// Names for devices and streams in messages.
inline std::string describe_device(int device) {
  return std::string(config::kDeviceTypeName) + ":" + std::to_string(device);
}

inline std::string describe_stream(driver::Stream stream) {
  return "stream " + std::to_string(stream.id) + " on " + describe_device(stream.device);
}

// Checks shared by the API's entry points; each throws Failure.
void check_device(int device);
void check_stream(driver::Stream stream);
// Refuses every call but the harmless ones in a child forked after the
// parent used the device (see lifetime.cpp).
void check_usable();

}  // namespace fakedevice::emulator
