// Internal to the emulator: when it counts as used, and what that means for
// a forked child. See lifetime.cpp.
#pragma once

namespace fakedevice::emulator {

// Called by every call that creates state (memory, streams, events, work).
void mark_used() noexcept;
// True in a child forked after its parent used the device: then the calls
// that only let go of something (free, event_destroy) do nothing.
bool forked_after_use() noexcept;

}  // namespace fakedevice::emulator
