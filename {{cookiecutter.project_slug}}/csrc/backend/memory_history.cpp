// Memory history and snapshots: see memory_history.h.
#include "backend/memory_history.h"

#include <pybind11/pybind11.h>
#include <torch/csrc/profiler/combined_traceback.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/allocator.h"
#include "backend/common.h"
#include "backend/streams.h"

// From torch/csrc/profiler/python/combined_traceback.h (libtorch_python),
// which includes nlohmann/json.hpp, a header the wheels do not ship. The
// same in torch 2.9 to 2.15.
namespace torch {
std::vector<pybind11::object> py_symbolize(std::vector<CapturedTraceback*>& to_symbolize);
void installCapturedTracebackPython();
}  // namespace torch

namespace fakedevice::memory_history {
namespace {

namespace py = pybind11;

using Context = std::shared_ptr<torch::CapturedTraceback>;

enum class Mode : int { kOff, kState, kAll };

struct Block {
  std::size_t size;
  driver::StreamId stream;
  Context context;  // null unless history was recorded when it was allocated
};

struct Entry {
  const char* action;
  uintptr_t address;
  std::size_t size;
  driver::StreamId stream;
  int64_t time_us;
  std::size_t device_free;  // for "oom"
  Context context;
};

struct DeviceHistory {
  std::unordered_map<uintptr_t, Block> live;
  std::deque<Entry> trace;
};

struct State {
  std::mutex mutex;
  std::array<DeviceHistory, kMaxDevices> devices;
  std::size_t max_entries = 0;       // 0: no bound
  std::vector<PyObject*> observers;  // strong references; changed with the GIL held
  std::mutex observers_mutex;
};

// Read without the lock on every allocation.
std::atomic<Mode> mode{Mode::kOff};
std::atomic<bool> python_stacks{false};
std::atomic<bool> cpp_stacks{false};

State& state() {
  // Never destroyed: tensors may be freed during static destruction.
  static auto* s = new State();
  return *s;
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

driver::StreamId current_stream_id(int device) {
  return current_stream(device).id;
}

// Whether this thread can take Python frames: a Python thread (torch's
// operators release the GIL while they run; gathering takes it back, as
// CUDA's allocator does), not one of the driver's threads, and not while
// the interpreter shuts down.
bool on_python_thread() {
  if (!Py_IsInitialized() || PyGILState_GetThisThreadState() == nullptr) {
    return false;
  }
#if PY_VERSION_HEX >= 0x030D0000
  return !Py_IsFinalizing();
#else
  return !_Py_IsFinalizing();
#endif
}

// The calling stack, as record_history asked.
Context gather_context() {
  const bool python = python_stacks.load(std::memory_order_relaxed) && on_python_thread();
  const bool cpp = cpp_stacks.load(std::memory_order_relaxed);
  if (!python && !cpp) {
    return nullptr;
  }
  return torch::CapturedTraceback::gather(python, /*script=*/python, cpp);
}

// Appends to a device's trace, dropping the oldest entries beyond the bound
// into `dropped` (destroyed by the caller once the lock is released).
void append(State& s, int device, Entry entry, std::vector<Entry>& dropped) {
  auto& trace = s.devices[device].trace;
  trace.push_back(std::move(entry));
  while (s.max_entries != 0 && trace.size() > s.max_entries) {
    dropped.push_back(std::move(trace.front()));
    trace.pop_front();
  }
}

py::list frames_of(
    const Context& context,
    const std::unordered_map<torch::CapturedTraceback*, std::size_t>& index,
    const std::vector<py::object>& symbolized) {
  if (!context) {
    return py::list();
  }
  return py::reinterpret_borrow<py::list>(symbolized.at(index.at(context.get())));
}

}  // namespace

void record_alloc(int device, void* pointer, std::size_t bytes) {
  const Mode current = mode.load(std::memory_order_relaxed);
  const driver::StreamId stream = current_stream_id(device);
  Context context = current == Mode::kOff ? nullptr : gather_context();
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  State& s = state();
  std::vector<Entry> dropped;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (current == Mode::kAll) {
    const int64_t time = now_us();
    append(s, device, Entry{"segment_alloc", address, bytes, stream, time, 0, context}, dropped);
    append(s, device, Entry{"alloc", address, bytes, stream, time, 0, context}, dropped);
  }
  s.devices[device].live[address] = Block{bytes, stream, std::move(context)};
}

void record_free(int device, void* pointer, std::size_t bytes) {
  const Mode current = mode.load(std::memory_order_relaxed);
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  State& s = state();
  std::vector<Entry> dropped;
  Block freed{};
  {
    Context context = current == Mode::kAll ? gather_context() : nullptr;
    std::lock_guard<std::mutex> lock(s.mutex);
    auto& live = s.devices[device].live;
    auto it = live.find(address);
    const bool known = it != live.end();
    if (known) {
      freed = std::move(it->second);
      live.erase(it);
    }
    if (current == Mode::kAll) {
      const driver::StreamId stream = known ? freed.stream : current_stream_id(device);
      const int64_t time = now_us();
      // The driver frees in stream order: the block is reusable once the work
      // queued on it has run, which the allocator does not wait for.
      for (const char* action : {"free_requested", "free_completed", "segment_free"}) {
        append(s, device, Entry{action, address, bytes, stream, time, 0, context}, dropped);
      }
    }
  }
  // `freed` and `dropped` release their stacks here, unlocked.
}

void record_out_of_memory(int device, std::size_t bytes) {
  driver::MemoryInfo info;
  if (driver::mem_get_info(device, &info) != driver::Status::kSuccess) {
    info.free = 0;
  }
  State& s = state();
  if (mode.load(std::memory_order_relaxed) == Mode::kAll) {
    Context context = gather_context();
    std::vector<Entry> dropped;
    std::lock_guard<std::mutex> lock(s.mutex);
    append(
        s,
        device,
        Entry{"oom", 0, bytes, current_stream_id(device), now_us(), info.free, std::move(context)},
        dropped);
  }
  std::vector<PyObject*> observers;
  {
    std::lock_guard<std::mutex> lock(s.observers_mutex);
    observers = s.observers;  // kept alive: observers are never detached
  }
  if (observers.empty() || !Py_IsInitialized()) {
    return;
  }
  const std::size_t held = memory_stats(device).allocated;
  py::gil_scoped_acquire gil;
  for (PyObject* observer : observers) {
    try {
      py::reinterpret_borrow<py::function>(observer)(device, bytes, held, info.free);
    } catch (py::error_already_set& error) {
      error.discard_as_unraisable("out-of-memory observer");
    }
  }
}

void record_history(
    const std::optional<std::string>& enabled, const std::string& stacks, std::size_t max_entries) {
  Mode requested = Mode::kOff;
  if (enabled.has_value()) {
    TORCH_CHECK(
        *enabled == "all" || *enabled == "state",
        "record_memory_history: enabled must be None, 'state' or 'all', got '",
        *enabled,
        "'");
    requested = *enabled == "all" ? Mode::kAll : Mode::kState;
  }
  TORCH_CHECK(
      stacks == "python" || stacks == "cpp" || stacks == "all",
      "record_memory_history: stacks must be 'python', 'cpp' or 'all', got '",
      stacks,
      "'");
  const bool python = requested != Mode::kOff && stacks != "cpp";
  if (python) {
    // Lets CapturedTraceback gather Python frames (what CUDA's
    // _record_memory_history does first).
    static std::once_flag installed;
    std::call_once(installed, [] { torch::installCapturedTracebackPython(); });
  }
  State& s = state();
  std::vector<Entry> dropped;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.max_entries = max_entries;
    for (auto& device : s.devices) {
      if (requested != Mode::kAll) {
        std::move(device.trace.begin(), device.trace.end(), std::back_inserter(dropped));
        device.trace.clear();
      }
      while (max_entries != 0 && device.trace.size() > max_entries) {
        dropped.push_back(std::move(device.trace.front()));
        device.trace.pop_front();
      }
    }
    python_stacks.store(python, std::memory_order_relaxed);
    cpp_stacks.store(requested != Mode::kOff && stacks != "python", std::memory_order_relaxed);
    mode.store(requested, std::memory_order_relaxed);
  }
}

PyObject* snapshot(const std::optional<std::string>& path) {
  struct Segment {
    int device;
    uintptr_t address;
    Block block;
  };
  std::vector<Segment> segments;
  std::vector<std::vector<Entry>> traces(driver::device_count());
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    for (int device = 0; device < driver::device_count(); ++device) {
      for (const auto& [address, block] : s.devices[device].live) {
        segments.push_back(Segment{device, address, block});
      }
      traces[device].assign(s.devices[device].trace.begin(), s.devices[device].trace.end());
    }
  }
  std::sort(segments.begin(), segments.end(), [](const Segment& a, const Segment& b) {
    return std::make_pair(a.device, a.address) < std::make_pair(b.device, b.address);
  });

  // Symbolize every stack once (they repeat across entries).
  std::vector<torch::CapturedTraceback*> to_symbolize;
  std::unordered_map<torch::CapturedTraceback*, std::size_t> index;
  auto add = [&](const Context& context) {
    if (context && index.emplace(context.get(), to_symbolize.size()).second) {
      to_symbolize.push_back(context.get());
    }
  };
  for (const Segment& segment : segments) {
    add(segment.block.context);
  }
  for (const auto& trace : traces) {
    for (const Entry& entry : trace) {
      add(entry.context);
    }
  }
  const std::vector<py::object> symbolized = torch::py_symbolize(to_symbolize);

  py::list segment_list;
  for (const Segment& segment : segments) {
    const std::size_t size = segment.block.size;
    py::list frames = frames_of(segment.block.context, index, symbolized);
    py::dict block;
    block["address"] = segment.address;
    block["size"] = size;
    block["requested_size"] = size;
    block["state"] = "active_allocated";
    block["frames"] = frames;
    py::dict entry;
    entry["device"] = segment.device;
    entry["address"] = segment.address;
    entry["total_size"] = size;
    entry["allocated_size"] = size;
    entry["active_size"] = size;
    entry["requested_size"] = size;
    entry["stream"] = segment.block.stream;
    entry["segment_type"] = size > (std::size_t{1} << 20) ? "large" : "small";
    entry["segment_pool_id"] = py::make_tuple(0, 0);
    entry["is_expandable"] = false;
    entry["frames"] = frames;
    py::list blocks;
    blocks.append(block);
    entry["blocks"] = blocks;
    segment_list.append(entry);
  }
  py::list device_traces;
  for (const auto& trace : traces) {
    py::list entries;
    for (const Entry& e : trace) {
      py::dict entry;
      entry["action"] = e.action;
      if (std::string(e.action) != "oom") {
        entry["addr"] = e.address;
      } else {
        entry["device_free"] = e.device_free;
      }
      entry["size"] = e.size;
      entry["stream"] = e.stream;
      entry["time_us"] = e.time_us;
      entry["frames"] = frames_of(e.context, index, symbolized);
      entries.append(entry);
    }
    device_traces.append(entries);
  }
  py::dict result;
  result["segments"] = segment_list;
  result["device_traces"] = device_traces;
  if (path.has_value()) {
    py::object file = py::module_::import("builtins").attr("open")(*path, "wb");
    py::module_::import("pickle").attr("dump")(result, file);
    file.attr("close")();
  }
  return result.release().ptr();
}

void attach_out_of_memory_observer(PyObject* observer) {
  TORCH_CHECK(
      observer != nullptr && PyCallable_Check(observer),
      "attach_out_of_memory_observer: the observer must be callable");
  Py_INCREF(observer);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.observers_mutex);
  s.observers.push_back(observer);
}

}  // namespace fakedevice::memory_history
