// Graphs: work captured from one stream, replayed as a unit, as a real
// device's graph API (CUDA graphs, MTIA graphs) does it. While a stream
// captures, submit() stores its commands in the graph instead of queueing
// them; replay queues copies of them.
#include <string>
#include <vector>

#include "runtime/describe.h"
#include "runtime/engine.h"

namespace fakedevice::runtime {
namespace engine {
namespace {

Graph& find_graph(State& s, GraphId graph) {
  auto it = s.graphs.find(graph);
  if (it == s.graphs.end()) {
    throw Error("unknown graph " + std::to_string(graph));
  }
  return it->second;
}

std::string describe_graph(GraphId graph) {
  return "graph " + std::to_string(graph);
}

void stop_capturing(State& s, Graph& graph) {
  s.capture_of_stream.erase(queue_key(graph.capture_stream));
  s.capturing_streams.fetch_sub(1, std::memory_order_release);
}

// Ends a capture in progress and empties the graph. The captured commands
// move to `dropped`, for the caller to destroy once the lock is released.
void empty_graph(State& s, Graph& graph, std::vector<Command>& dropped) {
  if (graph.phase == Graph::Phase::kCapturing) {
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

void check_not_capturing(State& s, Stream stream, const char* what) {
  if (capturing_graph(s, stream) != nullptr) {
    throw Error(
        describe_stream(stream) + " is capturing a graph and cannot be " + what +
        " until the capture ends");
  }
}

}  // namespace engine

using namespace engine;

GraphId create_graph(bool keep_graph) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  const GraphId id = s.next_graph++;
  s.graphs[id].keep_graph = keep_graph;
  return id;
}

void begin_capture(GraphId graph_id, Stream stream) {
  check_stream(stream);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  Graph& graph = find_graph(s, graph_id);
  if (graph.phase != Graph::Phase::kEmpty) {
    throw Error(
        describe_graph(graph_id) + " already holds a capture; reset it before capturing again");
  }
  if (capturing_graph(s, stream) != nullptr) {
    throw Error(describe_stream(stream) + " is already capturing a graph");
  }
  graph.phase = Graph::Phase::kCapturing;
  graph.capture_stream = stream;
  s.capture_of_stream[queue_key(stream)] = graph_id;
  s.capturing_streams.fetch_add(1, std::memory_order_relaxed);
}

void end_capture(GraphId graph_id) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  Graph& graph = find_graph(s, graph_id);
  if (graph.phase != Graph::Phase::kCapturing) {
    throw Error(describe_graph(graph_id) + " is not capturing");
  }
  stop_capturing(s, graph);
  graph.phase = graph.keep_graph ? Graph::Phase::kCaptured : Graph::Phase::kInstantiated;
}

bool is_capturing(Stream stream) {
  check_stream(stream);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return capturing_graph(s, stream) != nullptr;
}

void instantiate_graph(GraphId graph_id) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  Graph& graph = find_graph(s, graph_id);
  if (graph.phase == Graph::Phase::kEmpty || graph.phase == Graph::Phase::kCapturing) {
    throw Error(describe_graph(graph_id) + " cannot be instantiated before its capture has ended");
  }
  graph.phase = Graph::Phase::kInstantiated;
}

void replay_graph(GraphId graph_id, Stream stream) {
  check_stream(stream);
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  Graph& graph = find_graph(s, graph_id);
  if (graph.phase != Graph::Phase::kInstantiated) {
    throw Error(
        describe_graph(graph_id) +
        (graph.phase == Graph::Phase::kCaptured
             ? " was kept un-instantiated (keep_graph=True); instantiate it first"
             : " has no finished capture to replay"));
  }
  if (capturing_graph(s, stream) != nullptr) {
    throw Error("cannot replay a graph into a capturing " + describe_stream(stream));
  }
  for (const Command& captured : graph.commands) {
    Command command = captured;
    if (auto* record = std::get_if<Record>(&command)) {
      record->version = record->event->recorded.fetch_add(1) + 1;
    } else if (auto* wait = std::get_if<Wait>(&command)) {
      wait->version = wait->event->recorded.load(std::memory_order_acquire);
    }
    submit(s, lock, stream, std::move(command));
  }
}

void reset_graph(GraphId graph_id) {
  State& s = state();
  std::vector<Command> dropped;  // destroyed after the lock is released
  std::lock_guard<std::mutex> lock(s.mutex);
  empty_graph(s, find_graph(s, graph_id), dropped);
}

void destroy_graph(GraphId graph_id) noexcept {
  State& s = state();
  std::vector<Command> dropped;  // destroyed after the lock is released
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.graphs.find(graph_id);
  if (it != s.graphs.end()) {
    empty_graph(s, it->second, dropped);
    s.graphs.erase(it);
  }
}

}  // namespace fakedevice::runtime
