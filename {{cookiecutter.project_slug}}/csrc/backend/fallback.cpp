// Every other operator runs on the CPU: the boxed fallback copies the device
// tensors to the host (waiting for the work queued before), runs the CPU
// kernel and copies the results back. Random operators go through the
// device's generator instead of the CPU's, so that torch.mtia.manual_seed and
// torch.Generator(device="mtia") decide their numbers.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/CPUFallback.h>
#include <torch/library.h>

#include <mutex>

#include "backend/generator.h"
#include "backend/kernels.h"

namespace fakedevice {
namespace {

// A view operator's result must share memory with its input, which a copy to
// the host and back cannot do: it needs a kernel of its own (tensors.cpp).
void refuse_views(const c10::OperatorHandle& op) {
  for (const auto& result : op.schema().returns()) {
    const auto* alias = result.alias_info();
    TORCH_CHECK_NOT_IMPLEMENTED(
        alias == nullptr || alias->isWrite(),
        "'",
        op.schema().operator_name(),
        "' is a view operator, which the ",
        kDeviceType,
        " device does not implement; register a kernel for it in ",
        "csrc/backend/tensors.cpp");
  }
}

void cpu_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  refuse_views(op);
  at::native::cpu_fallback(op, stack);
}

// The device of the first device tensor among the operator's arguments.
int device_of_arguments(const c10::OperatorHandle& op, const torch::jit::Stack& stack) {
  const size_t count = op.schema().arguments().size();
  for (size_t i = stack.size() - count; i < stack.size(); ++i) {
    if (stack[i].isTensor() && on_device(stack[i].toTensor())) {
      return resolve_device(stack[i].toTensor().device().index());
    }
  }
  return runtime::current_device();
}

// Runs a random operator on the CPU with a CPU generator that starts from the
// device generator's state, then stores the advanced state back.
void random_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const auto& arguments = op.schema().arguments();
  const size_t first = stack->size() - arguments.size();
  for (size_t i = 0; i < arguments.size(); ++i) {
    c10::IValue& value = (*stack)[first + i];
    if (arguments[i].name() != "generator" || !(value.isNone() || value.isGenerator())) {
      continue;
    }
    at::Generator device_generator =
        value.isNone() ? default_generator(device_of_arguments(op, *stack)) : value.toGenerator();
    TORCH_CHECK(
        device_generator.device().type() == kDeviceType,
        "expected a generator of the ",
        kDeviceType,
        " device for ",
        op.schema().operator_name(),
        ", got one of ",
        device_generator.device());
    std::lock_guard<std::mutex> lock(device_generator.mutex());
    at::Generator host_generator = at::make_generator<at::CPUGeneratorImpl>();
    host_generator.set_state(device_generator.get_state());
    value = c10::IValue(host_generator);
    cpu_fallback(op, stack);
    device_generator.set_state(host_generator.get_state());
    return;
  }
  cpu_fallback(op, stack);
}

}  // namespace

TORCH_LIBRARY_IMPL(_, MTIA, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&cpu_fallback>());
}

// The operators that draw random numbers and take a generator.
TORCH_LIBRARY_IMPL(aten, MTIA, m) {
  for (const char* name :
       {"normal_",
        "uniform_",
        "random_",
        "random_.from",
        "random_.to",
        "bernoulli_.float",
        "bernoulli_.Tensor",
        "bernoulli",
        "bernoulli.p",
        "exponential_",
        "geometric_",
        "log_normal_",
        "cauchy_",
        "multinomial",
        "normal.Tensor_float",
        "normal.float_Tensor",
        "normal.Tensor_Tensor",
        "randperm.generator_out",
        "poisson"}) {
    m.impl(name, torch::CppFunction::makeFromBoxedFunction<&random_fallback>());
  }
}

}  // namespace fakedevice
