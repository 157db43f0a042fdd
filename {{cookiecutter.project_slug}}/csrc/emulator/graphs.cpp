// Graphs: work captured from one stream, launched as a unit, as CUDA graphs
// and MTIA graphs do it. While a stream captures, submit() stores its
// commands in the graph instead of queueing them; a launch submits copies of
// them. A call refused on a capturing stream invalidates the capture, as in
// CUDA: the graph then holds nothing that could be launched.
#include <string>
#include <vector>

#include "emulator/engine.h"
#include "emulator/failure.h"

namespace fakedevice::emulator {
namespace engine {
namespace {

std::string describe_graph(driver::Graph graph) {
  return "graph " + std::to_string(graph);
}

Graph& find_graph(State& s, driver::Graph graph) {
  auto it = s.graphs.find(graph);
  if (it == s.graphs.end()) {
    fail(driver::Status::kInvalidHandle, "unknown " + describe_graph(graph));
  }
  return it->second;
}

void stop_capturing(State& s, Graph& graph) {
  s.capture_of_stream.erase(queue_key(graph.capture_stream));
  s.capturing_streams.fetch_sub(1, std::memory_order_release);
}

// Ends a capture in progress and empties the graph. The captured commands
// move to `dropped`, for the caller to destroy once the lock is released.
void empty_graph(State& s, Graph& graph, std::vector<Command>& dropped) {
  if (graph.phase == Graph::Phase::kCapturing || graph.phase == Graph::Phase::kInvalidated) {
    stop_capturing(s, graph);
  }
  dropped.swap(graph.commands);
  graph.phase = Graph::Phase::kEmpty;
}

}  // namespace

Graph* capturing_graph(State& s, Stream stream) {
  if (s.capturing_streams.load(std::memory_order_relaxed) == 0) {
    return nullptr;
  }
  auto it = s.capture_of_stream.find(queue_key(stream));
  return it == s.capture_of_stream.end() ? nullptr : &s.graphs.at(it->second);
}

void refuse_if_capturing(State& s, Stream stream, const char* what) {
  Graph* graph = capturing_graph(s, stream);
  if (graph == nullptr) {
    return;
  }
  const std::string message = describe_stream(stream) + " is capturing a graph and cannot be " +
                              what + "; the capture is invalidated";
  if (graph->phase == Graph::Phase::kCapturing) {
    graph->phase = Graph::Phase::kInvalidated;
    graph->invalidated_by = message;
    // The commands stay until the graph is reset or destroyed: destroying
    // them here would need the lock released.
  }
  fail(driver::Status::kNotPermittedWhileCapturing, message);
}

}  // namespace engine
}  // namespace fakedevice::emulator

namespace fakedevice::driver {

using namespace emulator;
using namespace emulator::engine;

Status graph_create(bool keep_graph, Graph* graph) {
  return translate([&] {
    check_usable();
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    const Graph id = s.next_graph++;
    s.graphs[id].keep_graph = keep_graph;
    *graph = id;
  });
}

Status graph_begin_capture(Graph graph_id, Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    engine::Graph& graph = find_graph(s, graph_id);
    if (graph.phase != engine::Graph::Phase::kEmpty) {
      fail(
          Status::kIllegalState,
          describe_graph(graph_id) + " already holds a capture; reset it before capturing again");
    }
    if (capturing_graph(s, stream) != nullptr) {
      fail(Status::kIllegalState, describe_stream(stream) + " is already capturing a graph");
    }
    graph.phase = engine::Graph::Phase::kCapturing;
    graph.capture_stream = stream;
    s.capture_of_stream[queue_key(stream)] = graph_id;
    s.capturing_streams.fetch_add(1, std::memory_order_relaxed);
  });
}

Status graph_end_capture(Graph graph_id) {
  return translate([&] {
    check_usable();
    State& s = state();
    std::vector<Command> dropped;  // destroyed after the lock is released
    std::unique_lock<std::mutex> lock(s.mutex);
    engine::Graph& graph = find_graph(s, graph_id);
    if (graph.phase == engine::Graph::Phase::kInvalidated) {
      const std::string reason = graph.invalidated_by;
      empty_graph(s, graph, dropped);
      lock.unlock();
      fail(
          Status::kCaptureInvalidated,
          describe_graph(graph_id) + " was invalidated during capture: " + reason);
    }
    if (graph.phase != engine::Graph::Phase::kCapturing) {
      fail(Status::kIllegalState, describe_graph(graph_id) + " is not capturing");
    }
    stop_capturing(s, graph);
    graph.phase =
        graph.keep_graph ? engine::Graph::Phase::kCaptured : engine::Graph::Phase::kInstantiated;
  });
}

Status stream_is_capturing(Stream stream, bool* capturing) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    *capturing = capturing_graph(s, stream) != nullptr;
  });
}

Status graph_instantiate(Graph graph_id) {
  return translate([&] {
    check_usable();
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    engine::Graph& graph = find_graph(s, graph_id);
    if (graph.phase != engine::Graph::Phase::kCaptured &&
        graph.phase != engine::Graph::Phase::kInstantiated) {
      fail(
          Status::kIllegalState,
          describe_graph(graph_id) + " cannot be instantiated before its capture has ended");
    }
    graph.phase = engine::Graph::Phase::kInstantiated;
  });
}

Status graph_launch(Graph graph_id, Stream stream) {
  return translate([&] {
    check_usable();
    check_stream(stream);
    State& s = state();
    std::unique_lock<std::mutex> lock(s.mutex);
    engine::Graph& graph = find_graph(s, graph_id);
    if (graph.phase != engine::Graph::Phase::kInstantiated) {
      fail(
          Status::kIllegalState,
          describe_graph(graph_id) +
              (graph.phase == engine::Graph::Phase::kCaptured
                   ? " was kept un-instantiated (keep_graph=True); instantiate it first"
                   : " has no finished capture to replay"));
    }
    if (stream.device != graph.capture_stream.device) {
      fail(
          Status::kInvalidValue,
          describe_graph(graph_id) + " was captured on " +
              describe_device(graph.capture_stream.device) + " and cannot run on " +
              describe_stream(stream));
    }
    if (capturing_graph(s, stream) != nullptr) {
      fail(
          Status::kIllegalState,
          "cannot replay a graph into a capturing " + describe_stream(stream));
    }
    for (const Command& captured : graph.commands) {
      Command command = captured;
      EventState* numbered = nullptr;
      uint64_t version = 0;
      if (auto* record = std::get_if<Record>(&command.action)) {
        version = record->version = record->event->recorded.fetch_add(1) + 1;
        numbered = record->event.get();
      } else if (auto* wait = std::get_if<Wait>(&command.action)) {
        wait->version = wait->event->recorded.load(std::memory_order_acquire);
      }
      try {
        submit(s, lock, stream, std::move(command));
      } catch (const Failure&) {
        // Only a first command can be refused (no worker for an idle
        // stream), so nothing of the replay is queued: a record it numbered
        // completes now, or whoever waits for the event would wait forever.
        if (numbered != nullptr) {
          complete_record(*numbered, version);
          unblock_waiters(s);
        }
        throw;
      }
    }
  });
}

Status graph_reset(Graph graph_id) {
  return translate([&] {
    State& s = state();
    std::vector<Command> dropped;  // destroyed after the lock is released
    std::unique_lock<std::mutex> lock(s.mutex);
    empty_graph(s, find_graph(s, graph_id), dropped);
    lock.unlock();
  });
}

Status graph_destroy(Graph graph_id) {
  State& s = state();
  std::vector<Command> dropped;  // destroyed after the lock is released
  std::unique_lock<std::mutex> lock(s.mutex);
  auto it = s.graphs.find(graph_id);
  if (it != s.graphs.end()) {
    empty_graph(s, it->second, dropped);
    s.graphs.erase(it);
  }
  lock.unlock();
  return Status::kSuccess;
}

}  // namespace fakedevice::driver
