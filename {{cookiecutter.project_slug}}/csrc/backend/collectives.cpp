// Collective operations (torch.distributed) on device tensors.
//
// torch sends every collective through the dispatcher: the `c10d::` operators
// of torch/csrc/distributed/c10d/Ops.cpp, whose kernels (registered for CPU,
// CUDA and PrivateUse1 only) ask the process group for the backend of the
// tensors' device type and call it. These are the kernels for the MTIA key.
// They ask the process group for the backend of this device type as well
// (torch's gloo, once the package's _distributed.py has mapped the device to
// it), and stage the tensors through host memory for it:
// - first they wait for the work queued on the device's current stream, so
//   that the backend reads what that work wrote (as NCCL's kernels wait for
//   the current stream);
// - on a device whose memory the host addresses (host_addressable), the
//   backend gets CPU tensors over the device memory itself: no copies, and
//   its results land in the device tensors directly;
// - otherwise it gets host copies (staging.h), and the results are copied
//   back to the device when the backend has finished.
// The Work they return wraps the backend's: wait() blocks (without the GIL)
// until the results are in device memory, so work queued on any stream after
// it sees them; its future completes with the device tensors at that point.
// A port to hardware with a collective library of its own replaces all this
// with a c10d backend that takes device tensors (see the README).
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/ivalue.h>
#include <c10/core/StorageImpl.h>
#include <c10/core/TensorImpl.h>
#include <torch/library.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/reducer_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend/gil.h"
#include "backend/host_compute.h"
#include "backend/kernels.h"
#include "backend/staging.h"
#include "backend/streams.h"
#include "backend/torch_version.h"

namespace fakedevice {
namespace {

using c10d::ProcessGroup;
using c10d::Work;
using TensorLists = std::vector<std::vector<at::Tensor>>;

std::chrono::milliseconds milliseconds(int64_t timeout) {
  return std::chrono::milliseconds(timeout);
}

// The backend the process group holds for this device type.
c10::intrusive_ptr<c10d::Backend> backend_of(const c10::intrusive_ptr<ProcessGroup>& group) {
  try {
    return group->getBackend(kDeviceType);
  } catch (const c10::Error& error) {
    TORCH_CHECK(
        false,
        "this process group has no backend for ",
        c10::DeviceTypeName(kDeviceType, /*lower_case=*/true),
        " tensors (",
        error.what_without_backtrace(),
        "). Create it with init_process_group() with no backend, init_process_group(\"gloo\") or "
        "\"cpu:gloo,",
        c10::DeviceTypeName(kDeviceType, /*lower_case=*/true),
        ":<package>\" after importing the package (see the README's Distributed section)");
  }
}

// Device storage seen as a CPU storage: the same memory, kept alive by the
// alias (a backend may keep its tensors after the call).
void release_device_storage(void* storage) {
  c10::raw::intrusive_ptr::decref(static_cast<c10::StorageImpl*>(storage));
}

// What one collective hands its backend, and what it owes the device tensors
// once the backend has finished. Shared by the Work and its future's callback.
struct Completion {
  struct Staged {
    at::Tensor device;
    at::Tensor host;
  };
  std::vector<Staged> staged;     // every device tensor and what the backend got for it
  std::vector<Staged> copy_back;  // written tensors, when the backend got copies
  std::once_flag once;
  std::exception_ptr error;

  // Copies the results back to the device (once, from whichever thread gets
  // here first); rethrows what that copy raised.
  void finish() {
    std::call_once(once, [this] {
      try {
        for (const Staged& s : copy_back) {
          upload(s.host, s.device);
        }
      } catch (...) {
        error = std::current_exception();
      }
      copy_back.clear();
    });
    if (error) {
      std::rethrow_exception(error);
    }
  }

  // The backend's result with each host tensor replaced by its device tensor.
  c10::IValue to_device(const c10::IValue& value) const {
    if (value.isTensor()) {
      return to_device(value.toTensor());
    }
    if (value.isTensorList()) {
      c10::List<at::Tensor> results;
      for (const at::Tensor& tensor : value.toTensorList()) {
        results.push_back(to_device(tensor));
      }
      return results;
    }
    if (value.isList()) {
      c10::impl::GenericList results(value.toList().elementType());
      for (const c10::IValue& element : value.toList()) {
        results.push_back(to_device(element));
      }
      return results;
    }
    return value;
  }

  at::Tensor to_device(const at::Tensor& tensor) const {
    for (const Staged& s : staged) {
      if (s.host.unsafeGetTensorImpl() == tensor.unsafeGetTensorImpl()) {
        return s.device;
      }
    }
    return tensor;  // a host tensor the caller passed
  }
};

// The backend's Work, finished for device tensors.
class StagedWork final : public Work {
 public:
  StagedWork(
      int rank,
      c10::intrusive_ptr<Work> inner,
      std::shared_ptr<Completion> completion,
      std::vector<at::Tensor> results)
      : Work(rank, inner->retrieveOpType()),
        inner_(std::move(inner)),
        completion_(std::move(completion)),
        results_(std::move(results)) {
    c10::intrusive_ptr<c10::ivalue::Future> inner_future;
    try {
      inner_future = inner_->getFuture();
    } catch (const c10::Error&) {
      return;  // gloo's send and recv have none; getFuture() then raises what it raises on the CPU
    }
    if (!inner_future) {
      return;
    }
    future_ = c10::make_intrusive<c10::ivalue::Future>(inner_future->elementType());
    // Runs on the backend's thread when it finishes (or here, if it has).
    inner_future->addCallback(
        [completion = completion_, future = future_](c10::ivalue::Future& done) {
          if (done.hasError()) {
            future->setErrorIfNeeded(done.exception_ptr());
            return;
          }
          try {
            completion->finish();
            // A CPU future (no devices): its device tensors' values are
            // already in device memory, so it has no stream to synchronize.
            future->markCompleted(completion->to_device(done.value()));
          } catch (...) {
            future->setErrorIfNeeded(std::current_exception());
          }
        });
  }

  bool isCompleted() override {
    return inner_->isCompleted() && (!future_ || future_->completed());
  }

  bool isSuccess() const override {
    return inner_->isSuccess() && (!future_ || !future_->hasError());
  }

  std::exception_ptr exception() const override {
    if (std::exception_ptr error = inner_->exception()) {
      return error;
    }
    return future_ && future_->hasError() ? future_->exception_ptr() : nullptr;
  }

  int sourceRank() const override {
    return inner_->sourceRank();
  }

  std::vector<at::Tensor> result() override {
    return results_;
  }

  bool wait(std::chrono::milliseconds timeout) override {
    bool done = false;
    {
      GilReleased no_gil;
      done = inner_->wait(timeout);
      if (future_) {
        future_->wait();  // its callback has run: the results are on the device
      }
    }
    completion_->finish();  // for works without a future (send, recv)
    if (future_ && future_->hasError()) {
      std::rethrow_exception(future_->exception_ptr());
    }
    return done;
  }

  // Later work on the current stream must see the results: wait() has
  // them in device memory before it returns.
  void synchronize() override {
    wait(kNoTimeout);
  }

  void blockCurrentStream() override {
    wait(kNoTimeout);
  }

  void abort() override {
    inner_->abort();
  }

  c10::intrusive_ptr<c10::ivalue::Future> getFuture() override {
    return future_ ? future_ : inner_->getFuture();
  }

  uint64_t getSequencenumber() const override {
    return inner_->getSequencenumber();
  }

  float getDuration() const override {
    return inner_->getDuration();
  }

 private:
  c10::intrusive_ptr<Work> inner_;
  std::shared_ptr<Completion> completion_;
  std::vector<at::Tensor> results_;
  c10::intrusive_ptr<c10::ivalue::Future> future_;
};

// Stages the tensors of one collective: construct it with every tensor
// argument, then turn each into what the backend gets, call the backend, and
// wrap its Work.
class Staging {
 public:
  // Finds the device and waits for its current stream. `what` names the
  // operation in errors.
  template <typename... Arguments>
  Staging(const char* what, const Arguments&... arguments) : what_(what) {
    (note(arguments), ...);
    TORCH_INTERNAL_ASSERT(device_ >= 0, what, ": no ", kDeviceType, " tensor among the arguments");
    copying_ = !host_addressable(device_);
    wait_for_stream();
    completion_ = std::make_shared<Completion>();
  }

  // A tensor the backend reads.
  at::Tensor input(const at::Tensor& tensor) {
    return stage(tensor, /*written=*/false);
  }
  // A tensor the backend writes (or reads and writes).
  at::Tensor output(const at::Tensor& tensor) {
    return stage(tensor, /*written=*/true);
  }

  std::vector<at::Tensor> inputs(at::TensorList tensors) {
    return stage(tensors, false);
  }
  std::vector<at::Tensor> outputs(at::TensorList tensors) {
    return stage(tensors, true);
  }
  TensorLists inputs(const TensorLists& lists) {
    return stage(lists, false);
  }
  TensorLists outputs(const TensorLists& lists) {
    return stage(lists, true);
  }

  c10::intrusive_ptr<Work> work(
      c10::intrusive_ptr<ProcessGroup> group,
      c10::intrusive_ptr<Work> backend_work,
      std::vector<at::Tensor> results = {}) {
    TORCH_CHECK(backend_work, what_, ": the ", kDeviceType, " backend returned no Work");
    return c10::make_intrusive<StagedWork>(
        group->getRank(), std::move(backend_work), std::move(completion_), std::move(results));
  }

 private:
  void note(const at::Tensor& tensor) {
    if (!tensor.defined() || tensor.device().type() != kDeviceType) {
      return;
    }
    const int device = device_index_of(tensor);
    if (device_ < 0) {
      device_ = device;
    }
    TORCH_CHECK(
        device == device_,
        what_,
        ": expected all ",
        kDeviceType,
        " tensors on one device, got ",
        tensor.device(),
        " and ",
        c10::Device(kDeviceType, static_cast<c10::DeviceIndex>(device_)));
  }
  void note(at::TensorList tensors) {
    for (const at::Tensor& tensor : tensors) {
      note(tensor);
    }
  }
  void note(const TensorLists& lists) {
    for (const auto& list : lists) {
      note(at::TensorList(list));
    }
  }

  void wait_for_stream() {
    wait_for_current_stream(device_, what_);
  }

  at::Tensor stage(const at::Tensor& tensor, bool written) {
    if (!tensor.defined() || tensor.device().type() != kDeviceType) {
      return tensor;
    }
    TORCH_CHECK_NOT_IMPLEMENTED(
        tensor.layout() == c10::kStrided,
        what_,
        ": only strided ",
        kDeviceType,
        " tensors, got one with layout ",
        tensor.layout());
    at::Tensor host = copying_ ? download(tensor) : alias(tensor);
    completion_->staged.push_back({tensor, host});
    if (copying_ && written) {
      completion_->copy_back.push_back({tensor, host});
    }
    return host;
  }

  std::vector<at::Tensor> stage(at::TensorList tensors, bool written) {
    std::vector<at::Tensor> staged;
    staged.reserve(tensors.size());
    for (const at::Tensor& tensor : tensors) {
      staged.push_back(stage(tensor, written));
    }
    return staged;
  }

  TensorLists stage(const TensorLists& lists, bool written) {
    TensorLists staged;
    staged.reserve(lists.size());
    for (const auto& list : lists) {
      staged.push_back(stage(at::TensorList(list), written));
    }
    return staged;
  }

  // A CPU tensor over the device tensor's memory; tensors that share a
  // storage get aliases that share one (as the backend would see on the CPU).
  at::Tensor alias(const at::Tensor& tensor) {
    c10::StorageImpl* device_storage = tensor.storage().unsafeGetStorageImpl();
    c10::Storage host_storage;
    for (const auto& [known, host] : storages_) {
      if (known == device_storage) {
        host_storage = host;
      }
    }
    if (!host_storage) {
      c10::raw::intrusive_ptr::incref(device_storage);
      host_storage = c10::Storage(
          c10::make_intrusive<c10::StorageImpl>(
              c10::StorageImpl::use_byte_size_t(),
              device_storage->nbytes(),
              c10::DataPtr(
                  device_storage->mutable_data(),
                  device_storage,
                  &release_device_storage,
                  c10::Device(c10::DeviceType::CPU)),
              /*allocator=*/nullptr,
              /*resizable=*/false));
      storages_.emplace_back(device_storage, host_storage);
    }
    auto impl = c10::make_intrusive<c10::TensorImpl>(
        std::move(host_storage), c10::DispatchKeySet(c10::DispatchKey::CPU), tensor.dtype());
    impl->set_sizes_and_strides(tensor.sizes(), tensor.strides(), tensor.storage_offset());
    impl->_set_conj(tensor.is_conj());
    impl->_set_neg(tensor.is_neg());
    return at::Tensor(std::move(impl));
  }

  const char* what_;
  int device_ = -1;
  bool copying_ = false;
  std::shared_ptr<Completion> completion_;
  std::vector<std::pair<c10::StorageImpl*, c10::Storage>> storages_;
};

// ---- The kernels, one per c10d operator, with Ops.cpp's signatures.

std::tuple<std::vector<at::Tensor>, c10::intrusive_ptr<Work>> allreduce_(
    std::vector<at::Tensor> tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    c10::intrusive_ptr<c10d::ReduceOp> reduce_op,
    std::optional<at::Tensor> sparse_indices,
    bool async_op,
    int64_t timeout) {
  TORCH_CHECK_NOT_IMPLEMENTED(
      !sparse_indices.has_value(),
      "all_reduce: sparse ",
      kDeviceType,
      " tensors are not supported");
  Staging staging("all_reduce", tensors);
  std::vector<at::Tensor> host = staging.outputs(tensors);
  c10d::AllreduceOptions options;
  options.reduceOp = *reduce_op;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->allreduce(host, options);
  std::vector<at::Tensor> results = tensors;
  return {results, staging.work(group, std::move(work), results)};
}

c10::intrusive_ptr<Work> allreduce_coalesced_(
    std::vector<at::Tensor> tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    c10::intrusive_ptr<c10d::ReduceOp> reduce_op,
    bool async_op,
    int64_t timeout) {
  Staging staging("all_reduce_coalesced", tensors);
  std::vector<at::Tensor> host = staging.outputs(tensors);
  c10d::AllreduceCoalescedOptions options;
  options.reduceOp = *reduce_op;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->allreduce_coalesced(host, options);
  return staging.work(group, std::move(work), tensors);
}

std::tuple<std::vector<at::Tensor>, c10::intrusive_ptr<Work>> broadcast_(
    std::vector<at::Tensor> tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    int64_t root_rank,
    int64_t root_tensor,
    bool async_op,
    int64_t timeout) {
  Staging staging("broadcast", tensors);
  std::vector<at::Tensor> host = staging.outputs(tensors);
  c10d::BroadcastOptions options;
  options.rootRank = root_rank;
  options.rootTensor = root_tensor;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->broadcast(host, options);
  std::vector<at::Tensor> results = tensors;
  return {results, staging.work(group, std::move(work), results)};
}

c10::intrusive_ptr<Work> reduce_(
    std::vector<at::Tensor> tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    c10::intrusive_ptr<c10d::ReduceOp> reduce_op,
    int64_t root_rank,
    int64_t root_tensor,
    bool async_op,
    int64_t timeout) {
  Staging staging("reduce", tensors);
  std::vector<at::Tensor> host = staging.outputs(tensors);
  c10d::ReduceOptions options;
  options.reduceOp = *reduce_op;
  options.rootRank = root_rank;
  options.rootTensor = root_tensor;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->reduce(host, options);
  return staging.work(group, std::move(work), tensors);
}

std::tuple<TensorLists, c10::intrusive_ptr<Work>> allgather_(
    TensorLists output_tensors,
    std::vector<at::Tensor> input_tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    bool async_op,
    int64_t timeout) {
  Staging staging("all_gather", output_tensors, input_tensors);
  TensorLists host_outputs = staging.outputs(output_tensors);
  std::vector<at::Tensor> host_inputs = staging.inputs(input_tensors);
  c10d::AllgatherOptions options;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->allgather(host_outputs, host_inputs, options);
  std::vector<at::Tensor> results;
  for (const auto& list : output_tensors) {
    results.insert(results.end(), list.begin(), list.end());
  }
  return {output_tensors, staging.work(group, std::move(work), std::move(results))};
}

std::tuple<at::Tensor, c10::intrusive_ptr<Work>> _allgather_base_(
    at::Tensor output_tensor,
    at::Tensor input_tensor,
    c10::intrusive_ptr<ProcessGroup> group,
    bool async_op,
    int64_t timeout) {
  Staging staging("all_gather_into_tensor", output_tensor, input_tensor);
  at::Tensor host_output = staging.output(output_tensor);
  at::Tensor host_input = staging.input(input_tensor);
  c10d::AllgatherOptions options;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->_allgather_base(host_output, host_input, options);
  return {output_tensor, staging.work(group, std::move(work), {output_tensor})};
}

c10::intrusive_ptr<Work> allgather_coalesced_(
    TensorLists output_lists,
    std::vector<at::Tensor> input_list,
    c10::intrusive_ptr<ProcessGroup> group,
    bool async_op) {
  Staging staging("all_gather_coalesced", output_lists, input_list);
  TensorLists host_outputs = staging.outputs(output_lists);
  std::vector<at::Tensor> host_inputs = staging.inputs(input_list);
  c10d::AllgatherOptions options;
  options.asyncOp = async_op;
  auto work = backend_of(group)->allgather_coalesced(host_outputs, host_inputs, options);
  std::vector<at::Tensor> results;
  for (const auto& list : output_lists) {
    results.insert(results.end(), list.begin(), list.end());
  }
  return staging.work(group, std::move(work), std::move(results));
}

c10::intrusive_ptr<Work> allgather_into_tensor_coalesced_(
    std::vector<at::Tensor> outputs,
    std::vector<at::Tensor> inputs,
    c10::intrusive_ptr<ProcessGroup> group,
    bool async_op) {
  Staging staging("all_gather_into_tensor_coalesced", outputs, inputs);
  std::vector<at::Tensor> host_outputs = staging.outputs(outputs);
  std::vector<at::Tensor> host_inputs = staging.inputs(inputs);
  c10d::AllgatherOptions options;
  options.asyncOp = async_op;
  auto work =
      backend_of(group)->allgather_into_tensor_coalesced(host_outputs, host_inputs, options);
  return staging.work(group, std::move(work), outputs);
}

std::tuple<std::vector<at::Tensor>, c10::intrusive_ptr<Work>> reduce_scatter_(
    std::vector<at::Tensor> output_tensors,
    TensorLists input_tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    c10::intrusive_ptr<c10d::ReduceOp> reduce_op,
    bool async_op,
    int64_t timeout) {
  Staging staging("reduce_scatter", output_tensors, input_tensors);
  std::vector<at::Tensor> host_outputs = staging.outputs(output_tensors);
  TensorLists host_inputs = staging.inputs(input_tensors);
  c10d::ReduceScatterOptions options;
  options.reduceOp = *reduce_op;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->reduce_scatter(host_outputs, host_inputs, options);
  std::vector<at::Tensor> results = output_tensors;
  return {results, staging.work(group, std::move(work), results)};
}

std::tuple<at::Tensor, c10::intrusive_ptr<Work>> _reduce_scatter_base_(
    at::Tensor output_tensor,
    at::Tensor input_tensor,
    c10::intrusive_ptr<ProcessGroup> group,
    c10::intrusive_ptr<c10d::ReduceOp> reduce_op,
    bool async_op,
    int64_t timeout) {
  Staging staging("reduce_scatter_tensor", output_tensor, input_tensor);
  at::Tensor host_output = staging.output(output_tensor);
  at::Tensor host_input = staging.input(input_tensor);
  c10d::ReduceScatterOptions options;
  options.reduceOp = *reduce_op;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->_reduce_scatter_base(host_output, host_input, options);
  return {output_tensor, staging.work(group, std::move(work), {output_tensor})};
}

c10::intrusive_ptr<Work> reduce_scatter_tensor_coalesced_(
    std::vector<at::Tensor> outputs,
    std::vector<at::Tensor> inputs,
    c10::intrusive_ptr<ProcessGroup> group,
    c10::intrusive_ptr<c10d::ReduceOp> reduce_op,
    bool async_op,
    int64_t timeout) {
  Staging staging("reduce_scatter_tensor_coalesced", outputs, inputs);
  std::vector<at::Tensor> host_outputs = staging.outputs(outputs);
  std::vector<at::Tensor> host_inputs = staging.inputs(inputs);
  c10d::ReduceScatterOptions options;
  options.reduceOp = *reduce_op;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work =
      backend_of(group)->reduce_scatter_tensor_coalesced(host_outputs, host_inputs, options);
  return staging.work(group, std::move(work), outputs);
}

c10::intrusive_ptr<Work> gather_(
    TensorLists output_tensors,
    std::vector<at::Tensor> input_tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    int64_t root_rank,
    bool async_op,
    int64_t timeout) {
  Staging staging("gather", output_tensors, input_tensors);
  TensorLists host_outputs = staging.outputs(output_tensors);
  std::vector<at::Tensor> host_inputs = staging.inputs(input_tensors);
  c10d::GatherOptions options;
  options.rootRank = root_rank;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->gather(host_outputs, host_inputs, options);
  std::vector<at::Tensor> results;
  for (const auto& list : output_tensors) {
    results.insert(results.end(), list.begin(), list.end());
  }
  return staging.work(group, std::move(work), std::move(results));
}

#if FAKEDEVICE_TORCH_AT_LEAST(2, 14)
// torch 2.14 adds c10d::gather_into_tensor_ (dist.gather_single).
std::tuple<at::Tensor, c10::intrusive_ptr<Work>> gather_into_tensor_(
    at::Tensor output_tensor,
    at::Tensor input_tensor,
    c10::intrusive_ptr<ProcessGroup> group,
    int64_t root_rank,
    bool async_op,
    int64_t timeout) {
  Staging staging("gather_into_tensor", output_tensor, input_tensor);
  at::Tensor host_output = staging.output(output_tensor);
  at::Tensor host_input = staging.input(input_tensor);
  c10d::GatherOptions options;
  options.rootRank = root_rank;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->gather_single(host_output, host_input, options);
  return {output_tensor, staging.work(group, std::move(work), {output_tensor})};
}
#endif

std::tuple<std::vector<at::Tensor>, c10::intrusive_ptr<Work>> scatter_(
    std::vector<at::Tensor> output_tensors,
    TensorLists input_tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    int64_t root_rank,
    bool async_op,
    int64_t timeout) {
  Staging staging("scatter", output_tensors, input_tensors);
  std::vector<at::Tensor> host_outputs = staging.outputs(output_tensors);
  TensorLists host_inputs = staging.inputs(input_tensors);
  c10d::ScatterOptions options;
  options.rootRank = root_rank;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->scatter(host_outputs, host_inputs, options);
  std::vector<at::Tensor> results = output_tensors;
  return {results, staging.work(group, std::move(work), results)};
}

std::tuple<std::vector<at::Tensor>, c10::intrusive_ptr<Work>> alltoall_(
    std::vector<at::Tensor> output_tensors,
    std::vector<at::Tensor> input_tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    bool async_op,
    int64_t timeout) {
  Staging staging("all_to_all", output_tensors, input_tensors);
  std::vector<at::Tensor> host_outputs = staging.outputs(output_tensors);
  std::vector<at::Tensor> host_inputs = staging.inputs(input_tensors);
  c10d::AllToAllOptions options;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->alltoall(host_outputs, host_inputs, options);
  std::vector<at::Tensor> results = output_tensors;
  return {results, staging.work(group, std::move(work), results)};
}

c10::intrusive_ptr<Work> alltoall_base_(
    at::Tensor output,
    at::Tensor input,
    c10::intrusive_ptr<ProcessGroup> group,
    std::vector<int64_t> output_split_sizes,
    std::vector<int64_t> input_split_sizes,
    bool async_op,
    int64_t timeout) {
  Staging staging("all_to_all_single", output, input);
  at::Tensor host_output = staging.output(output);
  at::Tensor host_input = staging.input(input);
  c10d::AllToAllOptions options;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  auto work = backend_of(group)->alltoall_base(
      host_output, host_input, output_split_sizes, input_split_sizes, options);
  return staging.work(group, std::move(work), {output});
}

c10::intrusive_ptr<Work> send(
    std::vector<at::Tensor> tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    int64_t dst_rank,
    int64_t tag) {
  Staging staging("send", tensors);
  std::vector<at::Tensor> host = staging.inputs(tensors);
  auto work = backend_of(group)->send(host, static_cast<int>(dst_rank), static_cast<int>(tag));
  return staging.work(group, std::move(work), tensors);
}

c10::intrusive_ptr<Work> recv_(
    std::vector<at::Tensor> tensors,
    c10::intrusive_ptr<ProcessGroup> group,
    int64_t src_rank,
    int64_t tag) {
  Staging staging("recv", tensors);
  std::vector<at::Tensor> host = staging.outputs(tensors);
  auto work = backend_of(group)->recv(host, static_cast<int>(src_rank), static_cast<int>(tag));
  return staging.work(group, std::move(work), tensors);
}

c10::intrusive_ptr<Work> recv_any_source_(
    std::vector<at::Tensor> tensors, c10::intrusive_ptr<ProcessGroup> group, int64_t tag) {
  Staging staging("recv (any source)", tensors);
  std::vector<at::Tensor> host = staging.outputs(tensors);
  auto work = backend_of(group)->recvAnysource(host, static_cast<int>(tag));
  return staging.work(group, std::move(work), tensors);
}

// The tensor only says which device type the barrier is for: the barrier
// waits for the work queued on its device's current stream.
c10::intrusive_ptr<Work> barrier(
    at::Tensor tensor,
    c10::intrusive_ptr<ProcessGroup> group,
    std::vector<int64_t> device_ids,
    bool async_op,
    int64_t timeout) {
  Staging staging("barrier", tensor);
  c10d::BarrierOptions options;
  options.device_ids = device_ids;
  options.timeout = milliseconds(timeout);
  options.asyncOp = async_op;
  return staging.work(group, backend_of(group)->barrier(options));
}

void monitored_barrier_(
    at::Tensor tensor,
    c10::intrusive_ptr<ProcessGroup> group,
    std::vector<int64_t> device_ids,
    int64_t timeout,
    bool wait_all_ranks) {
  Staging staging("monitored_barrier", tensor);
  c10d::BarrierOptions options;
  options.device_ids = device_ids;
  options.timeout = milliseconds(timeout);
  GilReleased no_gil;
  backend_of(group)->monitoredBarrier(options, wait_all_ranks);
}

// Not a collective: NCCL's check that a tensor holds no NaN, run by the
// CPU's kernel on the staged tensor.
void check_for_nan(at::Tensor tensor) {
  Staging staging("check_for_nan", tensor);
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("c10d::check_for_nan", "")
                             .typed<void(at::Tensor)>();
  op.call(staging.input(tensor));  // a CPU tensor: the CPU's kernel
}

// ---- Registration. The kernels are registered boxed: an unboxed kernel's
// C++ signature must match the CPU kernel's to the letter (a const& where
// Ops.cpp has a value aborts the process when the extension loads), and
// Ops.cpp's spelling differs between releases. The schemas do not (torch
// 2.9 to 2.15), and a boxed kernel depends on nothing else.

template <typename Function>
struct BoxedCall;

template <typename Result, typename... Arguments>
struct BoxedCall<Result (*)(Arguments...)> {
  static constexpr std::size_t arity = sizeof...(Arguments);

  template <Result (*function)(Arguments...), std::size_t... I>
  static Result call(torch::jit::Stack* stack, std::index_sequence<I...> /*unused*/) {
    const std::size_t first = stack->size() - arity;
    return function(std::move((*stack)[first + I]).template to<std::decay_t<Arguments>>()...);
  }

  template <Result (*function)(Arguments...)>
  static void run(torch::jit::Stack* stack) {
    if constexpr (std::is_void_v<Result>) {
      call<function>(stack, std::index_sequence_for<Arguments...>{});
      torch::jit::drop(*stack, arity);
    } else {
      Result result = call<function>(stack, std::index_sequence_for<Arguments...>{});
      torch::jit::drop(*stack, arity);
      push_result(stack, std::move(result));
    }
  }

  template <typename Value>
  static void push_result(torch::jit::Stack* stack, Value&& value) {
    torch::jit::push(*stack, std::forward<Value>(value));
  }

  template <typename... Values>
  static void push_result(torch::jit::Stack* stack, std::tuple<Values...>&& values) {
    std::apply(
        [stack](auto&&... value) { (torch::jit::push(*stack, std::move(value)), ...); },
        std::move(values));
  }
};

template <auto function>
void boxed(const c10::OperatorHandle& /*op*/, torch::jit::Stack* stack) {
  BoxedCall<decltype(function)>::template run<function>(stack);
}

template <auto function>
torch::CppFunction kernel() {
  return torch::CppFunction::makeFromBoxedFunction<&boxed<function>>();
}

TORCH_LIBRARY_IMPL(c10d, MTIA, m) {
  m.impl("allreduce_", kernel<&allreduce_>());
  m.impl("allreduce_coalesced_", kernel<&allreduce_coalesced_>());
  m.impl("broadcast_", kernel<&broadcast_>());
  m.impl("reduce_", kernel<&reduce_>());
  m.impl("allgather_", kernel<&allgather_>());
  m.impl("_allgather_base_", kernel<&_allgather_base_>());
  m.impl("allgather_coalesced_", kernel<&allgather_coalesced_>());
  m.impl("allgather_into_tensor_coalesced_", kernel<&allgather_into_tensor_coalesced_>());
  m.impl("reduce_scatter_", kernel<&reduce_scatter_>());
  m.impl("_reduce_scatter_base_", kernel<&_reduce_scatter_base_>());
  m.impl("reduce_scatter_tensor_coalesced_", kernel<&reduce_scatter_tensor_coalesced_>());
  m.impl("gather_", kernel<&gather_>());
#if FAKEDEVICE_TORCH_AT_LEAST(2, 14)
  m.impl("gather_into_tensor_", kernel<&gather_into_tensor_>());
#endif
  m.impl("scatter_", kernel<&scatter_>());
  m.impl("alltoall_", kernel<&alltoall_>());
  m.impl("alltoall_base_", kernel<&alltoall_base_>());
  m.impl("send", kernel<&send>());
  m.impl("recv_", kernel<&recv_>());
  m.impl("recv_any_source_", kernel<&recv_any_source_>());
  m.impl("barrier", kernel<&barrier>());
  m.impl("monitored_barrier_", kernel<&monitored_barrier_>());
  m.impl("check_for_nan", kernel<&check_for_nan>());
}

// DDP's reducer times each iteration with a timer registered for the
// parameters' device type (torch registers CPU and CUDA ones; without one it
// warns). The host's clock, as the CPU's timer: the kernels above return
// once the device's queued work has run.
class HostClockTimer final : public c10d::Timer {
 public:
  explicit HostClockTimer(c10::Device /*device*/) {}

  std::optional<int64_t> measureDifference(Event start, Event end) override {
    const int64_t started = getTimeRef(start);
    const int64_t ended = getTimeRef(end);
    if (started == c10d::kUnsetTime || ended == c10d::kUnsetTime || ended < started) {
      return std::nullopt;
    }
    return ended - started;
  }
};

}  // namespace
}  // namespace fakedevice

namespace c10d {
C10_REGISTER_TYPED_CLASS(TimerRegistry, c10::DeviceType::MTIA, fakedevice::HostClockTimer);
}  // namespace c10d
