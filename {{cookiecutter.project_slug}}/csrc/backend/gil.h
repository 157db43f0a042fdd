// Blocking waits release the GIL: torch.mtia.synchronize() and the operators
// that wait for a stream are called with it held, and a thread that sleeps
// holding it stops every other Python thread for as long as the device works.
#pragma once

#include <Python.h>

namespace fakedevice {

class GilReleased {
 public:
  GilReleased() {
    if (Py_IsInitialized() && PyGILState_Check()) {
      state_ = PyEval_SaveThread();
    }
  }
  ~GilReleased() {
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
