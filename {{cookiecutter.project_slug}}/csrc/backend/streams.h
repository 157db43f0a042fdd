// torch's notion of streams over the driver's: the current stream of each
// device (per thread, as c10::cuda keeps it), and a pool of streams per
// device for getStreamFromGlobalPool. The driver knows no current stream.
#pragma once

#include "backend/common.h"

namespace fakedevice {

driver::Stream default_stream(int device);
driver::Stream new_stream(int device);
driver::Stream pool_stream(int device);
// The calling thread's current stream on `device` (its default stream until
// one is set).
driver::Stream current_stream(int device);
// Makes `stream` current on its device and returns the stream it replaces.
// Refuses a stream the driver does not know.
driver::Stream exchange_stream(driver::Stream stream);

}  // namespace fakedevice
