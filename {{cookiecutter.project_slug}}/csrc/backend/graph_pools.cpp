#include "backend/graph_pools.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "backend/common.h"
#include "backend/streams.h"

namespace fakedevice {
namespace {

struct GraphInfo {
  int device = -1;  // of the capture, once one began
  c10::MempoolId_t pool{0, 0};
};

std::mutex graphs_mutex;
std::unordered_map<int64_t, GraphInfo>& graphs() {
  static auto* table = new std::unordered_map<int64_t, GraphInfo>();
  return *table;
}
std::atomic<c10::CaptureId_t> next_pool_id{1};

GraphInfo info_of(int64_t graph) {
  std::lock_guard<std::mutex> lock(graphs_mutex);
  auto it = graphs().find(graph);
  TORCH_CHECK(it != graphs().end(), "unknown ", kDeviceType, " graph ", graph);
  return it->second;
}

}  // namespace

int64_t create_graph(bool keep_graph) {
  driver::Graph graph = 0;
  FAKEDEVICE_CHECK(driver::graph_create(keep_graph, &graph));
  std::lock_guard<std::mutex> lock(graphs_mutex);
  graphs()[graph] = GraphInfo{};
  return graph;
}

void destroy_graph(int64_t graph) {
  FAKEDEVICE_CHECK(driver::graph_destroy(graph));
  std::lock_guard<std::mutex> lock(graphs_mutex);
  graphs().erase(graph);
}

void begin_graph_capture(int64_t graph, c10::MempoolId_t pool) {
  info_of(graph);
  const int device = current_device();
  FAKEDEVICE_CHECK(driver::graph_begin_capture(graph, current_stream(device)));
  std::lock_guard<std::mutex> lock(graphs_mutex);
  // A zero pool id means "a private pool of its own", as for CUDA graphs.
  graphs()[graph] = GraphInfo{
      device,
      pool == c10::MempoolId_t{0, 0} ? c10::MempoolId_t{static_cast<c10::CaptureId_t>(graph), 0}
                                     : pool};
}

void end_graph_capture(int64_t graph) {
  FAKEDEVICE_CHECK(driver::graph_end_capture(graph));
}

void instantiate_graph(int64_t graph) {
  FAKEDEVICE_CHECK(driver::graph_instantiate(graph));
}

void replay_graph(int64_t graph) {
  const GraphInfo info = info_of(graph);
  // A graph that never captured: the driver says so.
  const int device = info.device >= 0 ? info.device : current_device();
  FAKEDEVICE_CHECK(driver::graph_launch(graph, current_stream(device)));
}

void reset_graph(int64_t graph) {
  FAKEDEVICE_CHECK(driver::graph_reset(graph));
}

c10::MempoolId_t graph_pool(int64_t graph) {
  const GraphInfo info = info_of(graph);
  TORCH_CHECK(info.device >= 0, kDeviceType, " graph ", graph, " has never captured");
  return info.pool;
}

c10::MempoolId_t new_graph_pool() {
  return {0, next_pool_id.fetch_add(1)};
}

}  // namespace fakedevice
