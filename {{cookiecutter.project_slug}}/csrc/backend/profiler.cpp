// A kineto child profiler over the driver's activity tracing: see profiler.h.
//
// kineto's headers use fmt, which torch does not export: compile it inline.
#define FMT_HEADER_ONLY 1

#include "backend/profiler.h"

#include <kineto/libkineto.h>
#include <kineto/output_base.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backend/common.h"
#include "backend/torch_version.h"

namespace fakedevice {
namespace {

using libkineto::ActivityType;

// torch maps MTIA_CCP_EVENTS ("on-device events") to DeviceType::MTIA and
// MTIA_RUNTIME to host-side runtime events; both are what
// ProfilerActivity.MTIA asks kineto for, and both keep their numbers in every
// kineto that torch 2.9 to 2.15 ship (unlike the activity types after them).
constexpr ActivityType kDeviceWork = ActivityType::MTIA_CCP_EVENTS;
constexpr ActivityType kLaunchMarker = ActivityType::MTIA_RUNTIME;

// Flow ids link each marker to its device activity. torch requires flow-start
// ids to be unique within a trace; CUPTI's correlation ids (a CUDA device in
// the same trace) count up from 1, so these start far above them, within
// the int32 that kineto keeps as an activity id.
constexpr uint32_t kFirstFlowId = 1u << 30;

// The operators running on this thread, innermost last, as kineto announces
// them (torch's correlation ids).
thread_local std::vector<uint64_t> correlation_stack;

const char* kind_name(driver::ActivityKind kind) {
  switch (kind) {
    case driver::ActivityKind::kKernel:
      return "kernel";
    case driver::ActivityKind::kMemcpy:
      return "memcpy";
    case driver::ActivityKind::kMemset:
      return "memset";
    case driver::ActivityKind::kSleep:
      return "busy period";
    case driver::ActivityKind::kWait:
      return "event wait";
    case driver::ActivityKind::kRecord:
      return "event record";
  }
  return "work";
}

// The driver call that queues each kind of work: the host-side marker's name.
const char* launch_name(driver::ActivityKind kind) {
  switch (kind) {
    case driver::ActivityKind::kKernel:
      return "launch_kernel";
    case driver::ActivityKind::kMemcpy:
      return "memcpy_async";
    case driver::ActivityKind::kMemset:
      return "memset_async";
    case driver::ActivityKind::kSleep:
      return "sleep";
    case driver::ActivityKind::kWait:
      return "stream_wait_event";
    case driver::ActivityKind::kRecord:
      return "event_record";
  }
  return "launch";
}

std::string device_name(int device) {
  return std::string(config::kDeviceTypeName) + ":" + std::to_string(device);
}

// `text` as the inside of a JSON string: kineto writes the names it is
// given into the chrome trace as they are, between quotes.
std::string json_escaped(const std::string& text) {
  std::string escaped;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      escaped += '\\';
      escaped += c;
    } else if (byte < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      escaped += "\\u00";
      escaped += kHex[byte >> 4];
      escaped += kHex[byte & 0xf];
    } else {
      escaped += c;  // UTF-8 passes as it is
    }
  }
  return escaped;
}

// The device's name (the driver's, as get_device_properties reports it).
std::string device_label(int device) {
  driver::DeviceProperties properties;
  if (driver::get_device_properties(device, &properties) == driver::Status::kSuccess &&
      !properties.name.empty()) {
    return json_escaped(properties.name);
  }
  return device_name(device);
}

std::string stream_name(driver::StreamId stream) {
  return stream == driver::kDefaultStreamId ? "stream 0 (default)"
                                            : "stream " + std::to_string(stream);
}

// DeviceInfo and ResourceInfo lost their constructors in torch 2.13, and
// ResourceInfo's fields are not in its old constructor's order.
std::unique_ptr<libkineto::DeviceInfo> make_device_info(int device) {
  return std::unique_ptr<libkineto::DeviceInfo>(new libkineto::DeviceInfo{
      device, libkineto::kExceedMaxPid + device, device_name(device), device_label(device)});
}

libkineto::ResourceInfo make_resource_info(int device, driver::StreamId stream) {
#if FAKEDEVICE_TORCH_AT_LEAST(2, 13)
  return libkineto::ResourceInfo{stream, stream, device, stream_name(stream)};
#else
  return libkineto::ResourceInfo(device, stream, stream, stream_name(stream));
#endif
}

// How far the system clock (kineto's and torch's timestamps) is ahead of
// the steady clock (the driver's), in nanoseconds.
int64_t steady_to_system_offset() {
  using namespace std::chrono;
  const auto steady_before = steady_clock::now();
  const auto system = system_clock::now();
  const auto steady_after = steady_clock::now();
  const auto steady = steady_before + (steady_after - steady_before) / 2;
  return duration_cast<nanoseconds>(system.time_since_epoch()).count() -
         duration_cast<nanoseconds>(steady.time_since_epoch()).count();
}

// Tracing is one switch in the driver; kineto runs one trace at a time, but
// the count keeps a second session from switching the first one's off.
std::mutex tracing_mutex;
int tracing_sessions = 0;

void start_tracing() {
  std::lock_guard<std::mutex> lock(tracing_mutex);
  if (tracing_sessions++ == 0) {
    std::vector<driver::ActivityRecord> stale;
    driver::activity_flush(&stale);  // left by work that ended after the last trace
    driver::activity_enable(true);
  }
}

void stop_tracing(std::vector<driver::ActivityRecord>* records) {
  std::lock_guard<std::mutex> lock(tracing_mutex);
  if (tracing_sessions > 0 && --tracing_sessions == 0) {
    driver::activity_enable(false);
  }
  driver::activity_flush(records);
}

class DeviceSession final : public libkineto::IActivityProfilerSession {
 public:
  explicit DeviceSession(bool with_markers) : with_markers_(with_markers) {}

  ~DeviceSession() override {
    if (started_ && !stopped_) {
      std::vector<driver::ActivityRecord> discarded;
      stop_tracing(&discarded);
    }
  }

  void start() override {
    if (!started_) {
      start_tracing();
      started_ = true;
      status_ = libkineto::TraceStatus::RECORDING;
    }
  }

  void stop() override {
    if (started_ && !stopped_) {
      stop_tracing(&records_);
      stopped_ = true;
      status_ = libkineto::TraceStatus::PROCESSING;
    }
  }

  std::vector<std::string> errors() override {
    return {};
  }

  void processTrace(libkineto::ActivityLogger& logger) override {
    processTrace(logger, nullptr, 0, 0);
  }

  void processTrace(
      libkineto::ActivityLogger& logger,
      libkineto::getLinkedActivityCallback linked_activity,
      int64_t window_start,
      int64_t /*window_end*/) override {
    buffer_ = std::make_unique<libkineto::CpuTraceBuffer>();
    buffer_->span.name = std::string(config::kDeviceTypeName) + " activities";
    buffer_->gpuOpCount = -1;
    const int64_t offset = steady_to_system_offset();
    std::set<int> devices;  // device 0 is getDeviceInfo()'s
    std::set<std::pair<int, driver::StreamId>> streams;
    uint32_t next_flow = kFirstFlowId;
    for (const driver::ActivityRecord& record : records_) {
      int64_t start = record.start_ns + offset;
      const int64_t end = std::max(record.end_ns + offset, start);
      if (window_start > 0) {
        if (end < window_start) {
          continue;  // finished before the trace began
        }
        start = std::max(start, window_start);
      }
      const libkineto::ITraceActivity* op = nullptr;
      if (record.correlation != 0 && linked_activity) {
        op = linked_activity(static_cast<int32_t>(record.correlation));
      }
      buffer_->emplace_activity(buffer_->span, kDeviceWork, record.name);
      libkineto::GenericTraceActivity& work = *buffer_->activities.back();
      work.startTime = start;
      work.endTime = end;
      work.device = record.device;
      work.resource = static_cast<int32_t>(record.stream);
      work.addMetadata("device", record.device);
      work.addMetadata("stream", record.stream);
      work.addMetadataQuoted("kind", kind_name(record.kind));
      if (record.kind == driver::ActivityKind::kMemcpy ||
          record.kind == driver::ActivityKind::kMemset) {
        work.addMetadata("bytes", record.bytes);
      }
      if (op != nullptr) {
        const uint32_t flow = next_flow++;
        work.id = static_cast<int32_t>(flow);
        work.linked = op;
        work.flow.id = flow;
        work.flow.type = libkineto::kLinkAsyncCpuGpu;
        work.flow.start = 0;
        if (with_markers_) {
          add_marker(logger, *op, record.kind, flow);
        }
      }
      logger.handleActivity(work);
      devices.insert(record.device);
      streams.emplace(record.device, record.stream);
    }
    records_.clear();
    const int64_t info_time = window_start > 0
                                  ? window_start
                                  : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
    for (int device : devices) {
      if (device != 0) {
        logger.handleDeviceInfo(*make_device_info(device), info_time);
      }
    }
    for (const auto& [device, stream] : streams) {
      logger.handleResourceInfo(make_resource_info(device, stream), info_time);
    }
  }

  // Names the first device's process, so that kineto does not label
  // processes 0 to 15 "GPU n" (it does when no child session names one).
  std::unique_ptr<libkineto::DeviceInfo> getDeviceInfo() override {
    return make_device_info(0);
  }

  std::vector<libkineto::ResourceInfo> getResourceInfos() override {
    return {};  // processTrace logged the streams that ran work
  }

  std::unique_ptr<libkineto::CpuTraceBuffer> getTraceBuffer() override {
    return std::move(buffer_);
  }

  // Called on the thread that runs each operator, as it begins and ends.
  void pushCorrelationId(uint64_t id) override {
    correlation_stack.push_back(id);
    driver::set_correlation_id(id);
  }

  void popCorrelationId() override {
    if (!correlation_stack.empty()) {
      correlation_stack.pop_back();
    }
    driver::set_correlation_id(correlation_stack.empty() ? 0 : correlation_stack.back());
  }

  // The "deviceProperties" of the chrome trace, one JSON object per device.
  std::string getDeviceProperties() override {
    std::string json;
    for (int device = 0; device < driver::device_count(); ++device) {
      driver::DeviceProperties properties;
      if (driver::get_device_properties(device, &properties) != driver::Status::kSuccess) {
        continue;
      }
      json += std::string(json.empty() ? "" : ",") + "\n      {\"id\": " + std::to_string(device) +
              ", \"name\": \"" + json_escaped(properties.name) + "\", \"deviceType\": \"" +
              config::kDeviceTypeName +
              "\", \"totalGlobalMem\": " + std::to_string(properties.total_memory) +
              ", \"computeMajor\": " + std::to_string(properties.major) +
              ", \"computeMinor\": " + std::to_string(properties.minor) + "}";
    }
    return json;
  }

 private:
  // A zero-length host-side activity at the start of the operator that
  // queued the work, from which the chrome trace draws the flow arrow to it:
  // a flow must start on the host thread, and the driver reports only when
  // the work ran on the device, not when it was queued.
  void add_marker(
      libkineto::ActivityLogger& logger,
      const libkineto::ITraceActivity& op,
      driver::ActivityKind kind,
      uint32_t flow) {
    buffer_->emplace_activity(buffer_->span, kLaunchMarker, launch_name(kind));
    libkineto::GenericTraceActivity& marker = *buffer_->activities.back();
    marker.startTime = op.timestamp();
    marker.endTime = op.timestamp();
    marker.device = static_cast<int32_t>(op.deviceId());
    marker.resource = static_cast<int32_t>(op.resourceId());
    marker.threadId = op.getThreadId();
    marker.id = static_cast<int32_t>(flow);
    marker.linked = &op;
    marker.flow.id = flow;
    marker.flow.type = libkineto::kLinkAsyncCpuGpu;
    marker.flow.start = 1;
    logger.handleActivity(marker);
  }

  const bool with_markers_;
  bool started_ = false;
  bool stopped_ = false;
  std::vector<driver::ActivityRecord> records_;
  std::unique_ptr<libkineto::CpuTraceBuffer> buffer_;
};

class DeviceProfiler final : public libkineto::IActivityProfiler {
 public:
  const std::string& name() const override {
    return name_;
  }

  const std::set<ActivityType>& availableActivities() const override {
    return activities_;
  }

  // A session only for traces that ask for the device's activities
  // (ProfilerActivity.MTIA); a CPU-only trace costs nothing.
  std::unique_ptr<libkineto::IActivityProfilerSession> configure(
      const std::set<ActivityType>& activity_types, const libkineto::Config& /*config*/) override {
    if (activity_types.count(kDeviceWork) == 0) {
      return nullptr;
    }
    return std::make_unique<DeviceSession>(activity_types.count(kLaunchMarker) != 0);
  }

  std::unique_ptr<libkineto::IActivityProfilerSession> configure(
      int64_t /*ts_ms*/,
      int64_t /*duration_ms*/,
      const std::set<ActivityType>& activity_types,
      const libkineto::Config& config) override {
    return configure(activity_types, config);
  }

 private:
  const std::string name_ = std::string(config::kDeviceTypeName) + " device activity";
  const std::set<ActivityType> activities_{kDeviceWork, kLaunchMarker};
};

}  // namespace

void register_device_profiler() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    libkineto::api().registerProfilerFactory([]() -> std::unique_ptr<libkineto::IActivityProfiler> {
      return std::make_unique<DeviceProfiler>();
    });
  });
}

namespace {
// Registered as the extension loads, with the hooks and the guard: kineto
// asks for its child profilers when the first trace starts.
const bool registered_at_load = (register_device_profiler(), true);
}  // namespace

}  // namespace fakedevice
