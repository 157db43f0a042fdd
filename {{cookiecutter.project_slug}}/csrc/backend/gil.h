// Blocking waits release the GIL: torch.mtia.synchronize() and the operators
// that wait for a stream are called with it held, and a thread that sleeps
// holding it stops every other Python thread for as long as the device works.
//
// At interpreter exit the package stops the driver (the emulator's shutdown
// drops queued work and wakes every thread that waits for it). A daemon
// thread woken that way must not go back into Python, which is finalizing:
// taking the GIL then ends the thread by unwinding it, and that unwinding
// aborts the process when it meets a C++ frame that may not throw (torch's
// own GIL release, in an operator's binding). Such a thread waits for the
// process to end instead, as a thread blocked on a real device would.
#pragma once

#include <Python.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace fakedevice {

inline std::atomic<bool> process_exiting{false};
inline std::atomic<std::thread::id> exiting_thread{};

// The package's atexit handler calls this before it stops the driver.
inline void mark_process_exiting() noexcept {
  exiting_thread.store(std::this_thread::get_id());
  process_exiting.store(true);
}

// After a blocking wait: never returns on a thread other than the one that
// is running the exit, once the process exits.
inline void park_if_process_is_exiting() noexcept {
  if (process_exiting.load() && exiting_thread.load() != std::this_thread::get_id()) {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::hours(1));
    }
  }
}

class GilReleased {
 public:
  GilReleased() {
    if (Py_IsInitialized() && PyGILState_Check()) {
      state_ = PyEval_SaveThread();
    }
  }
  ~GilReleased() {
    park_if_process_is_exiting();
    if (state_ != nullptr) {
      PyEval_RestoreThread(state_);
    }
  }
  GilReleased(const GilReleased&) = delete;
  GilReleased& operator=(const GilReleased&) = delete;

 private:
  PyThreadState* state_ = nullptr;
};

}  // namespace fakedevice
