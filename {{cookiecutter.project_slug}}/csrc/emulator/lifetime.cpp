// The emulator's lifetime: exit, and fork.
//
// Exit. Two paths stop the worker threads, because two kinds of program use
// the emulator: the Python package registers shutdown() with Python's atexit,
// so that no worker runs a kernel (which calls into ATen) while the
// interpreter tears torch down; the emulator itself registers it with the C
// runtime's atexit when it starts its first worker, for programs without
// Python (its own C++ tests). shutdown() is idempotent.
//
// Fork. A child process has only the thread that called fork(): the workers,
// and whatever they were doing, stay in the parent. As CUDA does, a child
// forked after its parent used the device refuses to use it (every call but
// the harmless ones fails with kUnavailableAfterFork, naming the 'spawn'
// start method), instead of waiting forever for workers that do not exist.
// A child forked before any use (after `import torch` autoloaded the backend,
// say) works normally. The handlers lock the engine and memory mutexes
// around fork(), so that the child never inherits one held by a thread it
// does not have.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "emulator/engine.h"
#include "emulator/failure.h"
#include "emulator/lifetime.h"

namespace fakedevice::emulator {

// memory.cpp
void lock_memory_for_fork() noexcept;
void unlock_memory_after_fork() noexcept;
void replace_memory_in_forked_child() noexcept;

namespace {

// How long shutdown() waits for work that is already running.
constexpr auto kShutdownGrace = std::chrono::seconds(5);

std::atomic<bool> used{false};
std::atomic<bool> forked_after_use_flag{false};
pid_t parent_pid = 0;

void before_fork() {
  engine::state().mutex.lock();
  lock_memory_for_fork();
}

void in_parent_after_fork() {
  unlock_memory_after_fork();
  engine::state().mutex.unlock();
}

void in_child_after_fork() {
  if (used.load(std::memory_order_relaxed)) {
    parent_pid = getppid();
    forked_after_use_flag.store(true, std::memory_order_relaxed);
    // The inherited state describes the parent's threads and queues; it
    // stays locked and unused.
    engine::replace_state_in_forked_child();
    replace_memory_in_forked_child();
  } else {
    unlock_memory_after_fork();
    engine::state().mutex.unlock();
  }
}

}  // namespace

void mark_used() noexcept {
  if (!used.load(std::memory_order_relaxed)) {
    static std::once_flag handlers;
    std::call_once(handlers, [] {
      pthread_atfork(&before_fork, &in_parent_after_fork, &in_child_after_fork);
    });
    used.store(true, std::memory_order_relaxed);
  }
}

bool forked_after_use() noexcept {
  return forked_after_use_flag.load(std::memory_order_relaxed);
}

void check_usable() {
  if (forked_after_use()) {
    fail(
        driver::Status::kUnavailableAfterFork,
        std::string("the ") + config::kDeviceTypeName +
            " device cannot be used in a process forked after its parent (pid " +
            std::to_string(parent_pid) +
            ") used it: the parent's device threads do not exist here. Start worker "
            "processes with the 'spawn' or 'forkserver' method, as with CUDA");
  }
}

void shutdown() noexcept {
  engine::State& s = engine::state();
  std::vector<engine::Command> dropped;  // destroyed after the lock is released
  std::unique_lock<std::mutex> lock(s.mutex);
  if (!s.shut_down) {
    s.shut_down = true;
    engine::drop_all_queued_work(s, dropped);
    s.work.notify_all();
    s.progress.notify_all();
  }
  s.progress.wait_for(lock, kShutdownGrace, [&] { return s.workers == 0; });
  lock.unlock();
}

}  // namespace fakedevice::emulator
