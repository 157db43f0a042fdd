// MTIA graphs (torch.mtia.MTIAGraph, torch.mtia.graph) over the driver's
// graphs. The glue keeps what is torch's, not the device's: which device a
// graph captured on, and the memory-pool id torch associates with it.
#pragma once

#include <c10/core/Allocator.h>
#include <c10/core/CachingDeviceAllocator.h>

#include <cstdint>

namespace fakedevice {

int64_t create_graph(bool keep_graph);
void destroy_graph(int64_t graph);
// Captures the work submitted to the current stream of the current device.
void begin_graph_capture(int64_t graph, c10::MempoolId_t pool);
void end_graph_capture(int64_t graph);
void instantiate_graph(int64_t graph);
// Replays on the current stream of the device the graph captured on.
void replay_graph(int64_t graph);
void reset_graph(int64_t graph);
c10::MempoolId_t graph_pool(int64_t graph);
// torch.mtia.graph_pool_handle: a fresh pool id, shareable between graphs.
c10::MempoolId_t new_graph_pool();

}  // namespace fakedevice
