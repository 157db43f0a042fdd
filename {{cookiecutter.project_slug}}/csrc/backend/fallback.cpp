// Every operator the device has no kernel of its own for runs torch's CPU
// kernel, as a boxed fallback:
// - on a host_addressable device, in place on the device's memory, on the
//   calling thread, after the work queued on the device's current stream
//   (host_compute.h): no copies, no thread hop;
// - otherwise by copying the inputs to the host and the results back
//   (torch's at::native::cpu_fallback).
// Before either, it refuses what a real device would refuse: tensors on two
// devices, host tensors mixed with device tensors (other than CPU scalars),
// and collective operations, which have kernels of their own.
// Random operators draw from the device's generator instead of the CPU's, so
// that torch.mtia.manual_seed and torch.Generator(device="mtia") decide.
// Structured operators' functional forms go to the CPU's functional kernel
// too (route_functional_operators_to_host), not to torch's composite that
// calls the out= form: one dispatch instead of two, and none of the
// composite's quirks (mse_loss warns that it resized its output).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/CPUFallback.h>
#include <torch/library.h>

#include <cstring>
#include <mutex>
#include <string_view>

#include "backend/fallback.h"
#include "backend/generator.h"
#include "backend/host_compute.h"
#include "backend/kernels.h"

namespace fakedevice {
namespace {

// Operators that take index tensors from the host as CUDA's do.
bool accepts_host_tensors(const c10::OperatorName& name) {
  static constexpr std::string_view kNames[] = {
      "aten::index",
      "aten::index_put",
      "aten::index_put_",
      "aten::_index_put_impl_",
      "aten::_unsafe_index",
      "aten::_unsafe_index_put"};
  for (std::string_view known : kNames) {
    if (name.name == known) {
      return true;
    }
  }
  return false;
}

// The devices an operator's arguments are on, checked as CUDA checks them.
struct ArgumentDevices {
  int device = -1;     // of the device tensors, or -1 if none
  int requested = -1;  // of a `device` argument (a factory), or -1
};

class DeviceScan {
 public:
  explicit DeviceScan(const c10::OperatorHandle& op) : op_(op) {}

  void tensor(const at::Tensor& tensor, const c10::Argument& argument) {
    if (!tensor.defined()) {
      return;
    }
    if (tensor.device().type() == kDeviceType) {
      const int index = device_index_of(tensor);
      if (result_.device < 0) {
        result_.device = index;
        first_name_ = &argument.name();
      } else if (index != result_.device) {
        mismatch(argument, tensor.device(), c10::Device(kDeviceType, result_.device));
      }
    } else if (tensor.device().is_cpu()) {
      const bool scalar = tensor.dim() == 0;  // CUDA's kernels take CPU scalars
      if (!scalar && host_argument_ == nullptr) {
        host_argument_ = &argument;
        host_device_ = tensor.device();
      }
    } else if (other_ == nullptr) {
      other_ = &argument;
      other_device_ = tensor.device();
    }
  }

  void value(const c10::IValue& value, const c10::Argument& argument) {
    if (value.isTensor()) {
      tensor(value.toTensor(), argument);
    } else if (value.isTensorList()) {
      for (const at::Tensor& t : value.toTensorList()) {
        tensor(t, argument);
      }
    } else if (value.isOptionalTensorList()) {
      for (const std::optional<at::Tensor>& t : value.toOptionalTensorList()) {
        if (t.has_value()) {
          tensor(*t, argument);
        }
      }
    } else if (value.isDevice() && value.toDevice().type() == kDeviceType) {
      result_.requested = resolve_device(value.toDevice().index());
    }
  }

  ArgumentDevices finish() {
    if (result_.device >= 0) {
      const c10::Device device(kDeviceType, static_cast<c10::DeviceIndex>(result_.device));
      if (other_ != nullptr) {
        mismatch(*other_, other_device_, device);
      }
      if (host_argument_ != nullptr && !accepts_host_tensors(op_.operator_name())) {
        mismatch(*host_argument_, host_device_, device);
      }
    }
    return result_;
  }

 private:
  [[noreturn]] void mismatch(
      const c10::Argument& argument, c10::Device got, c10::Device others) const {
    TORCH_CHECK(
        false,
        "Expected all tensors to be on the same device, but got ",
        argument.name(),
        " is on ",
        got,
        ", different from other tensors on ",
        others,
        " (when checking argument in method ",
        op_.schema().operator_name(),
        ")");
  }

  const c10::OperatorHandle& op_;
  ArgumentDevices result_;
  const std::string* first_name_ = nullptr;
  const c10::Argument* host_argument_ = nullptr;
  c10::Device host_device_{c10::DeviceType::CPU};
  const c10::Argument* other_ = nullptr;
  c10::Device other_device_{c10::DeviceType::CPU};
};

ArgumentDevices scan_arguments(const c10::OperatorHandle& op, const torch::jit::Stack& stack) {
  const auto& arguments = op.schema().arguments();
  const size_t first = stack.size() - arguments.size();
  DeviceScan scan(op);
  for (size_t i = 0; i < arguments.size(); ++i) {
    scan.value(stack[first + i], arguments[i]);
  }
  return scan.finish();
}

// Collectives must reach the process group, not run on temporary copies.
void refuse_collectives(const c10::OperatorHandle& op) {
  TORCH_CHECK_NOT_IMPLEMENTED(
      op.operator_name().name.rfind("c10d::", 0) != 0,
      "'",
      op.schema().operator_name(),
      "' has no kernel for ",
      kDeviceType,
      " tensors: collectives run on their own kernels (see the README's Distributed section)");
}

// A view operator's result must share memory with its input, which a copy to
// the host and back cannot do.
void refuse_views(const c10::OperatorHandle& op) {
  for (const auto& result : op.schema().returns()) {
    const auto* alias = result.alias_info();
    TORCH_CHECK_NOT_IMPLEMENTED(
        alias == nullptr || alias->isWrite(),
        "'",
        op.schema().operator_name(),
        "' is a view operator, which a device whose memory the host cannot address runs "
        "only with a kernel of its own (csrc/backend/tensors.cpp)");
  }
}

// Runs the CPU kernel on the device's memory in place.
void run_in_place(const c10::OperatorHandle& op, torch::jit::Stack* stack, int device) {
  const auto& schema = op.schema();
  const size_t count = schema.arguments().size();
  const size_t first = stack->size() - count;
  HostCall call(device, schema.operator_name().name.c_str());
  for (size_t i = first; i < stack->size(); ++i) {
    (*stack)[i] = call.to_host((*stack)[i]);
  }
  op.redispatchBoxed(c10::DispatchKeySet(c10::DispatchKey::CPU), stack);
  call.write_back_arguments();
  for (size_t i = first; i < stack->size(); ++i) {
    (*stack)[i] = call.to_device((*stack)[i]);
  }
}

void host_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  refuse_collectives(op);
  const ArgumentDevices devices = scan_arguments(op, *stack);
  const int device = devices.device >= 0      ? devices.device
                     : devices.requested >= 0 ? devices.requested
                                              : current_device();
  if (host_addressable(device)) {
    run_in_place(op, stack, device);
  } else {
    refuse_views(op);
    at::native::cpu_fallback(op, stack);
  }
}

// Runs a random operator with a CPU generator that starts from the device
// generator's state, then stores the advanced state back.
void random_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const auto& arguments = op.schema().arguments();
  const size_t first = stack->size() - arguments.size();
  for (size_t i = 0; i < arguments.size(); ++i) {
    c10::IValue& value = (*stack)[first + i];
    if (arguments[i].name() != "generator" || !(value.isNone() || value.isGenerator())) {
      continue;
    }
    at::Generator device_generator;
    if (value.isNone()) {
      const ArgumentDevices devices = scan_arguments(op, *stack);
      device_generator = default_generator(
          devices.device >= 0 ? devices.device
                              : (devices.requested >= 0 ? devices.requested : current_device()));
    } else {
      device_generator = value.toGenerator();
    }
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
    host_fallback(op, stack);
    device_generator.set_state(host_generator.get_state());
    return;
  }
  host_fallback(op, stack);
}

}  // namespace

void route_functional_operators_to_host() {
  static torch::Library* library = [] {
    auto* routes = new torch::Library(
        torch::Library::IMPL, "aten", c10::DispatchKey::MTIA, __FILE__, __LINE__);
    auto& dispatcher = c10::Dispatcher::singleton();
    for (const c10::OperatorName& name : dispatcher.getAllOpNamesForDispatchKey(
             c10::DispatchKey::CompositeExplicitAutogradNonFunctional)) {
      const auto op = dispatcher.findOp(name);
      if (!op || name.name.rfind("aten::", 0) != 0 ||
          !op->hasKernelForDispatchKey(c10::DispatchKey::CPU) ||
          op->hasKernelForDispatchKey(c10::DispatchKey::MTIA)) {
        continue;
      }
      std::string qualified = name.name.substr(6);
      if (!name.overload_name.empty()) {
        qualified += "." + name.overload_name;
      }
      routes->impl(qualified.c_str(), torch::CppFunction::makeFromBoxedFunction<&host_fallback>());
    }
    return routes;
  }();
  (void)library;
}

TORCH_LIBRARY_IMPL(_, MTIA, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&host_fallback>());
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
