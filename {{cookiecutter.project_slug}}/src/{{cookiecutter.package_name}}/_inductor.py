"""``torch.compile``'s default backend, inductor, on the {{ cookiecutter.device_type }} device.

torch registers Triton code generation for ``{{ cookiecutter.device_type }}`` and treats it as
a Triton GPU in several places, so without this module ``torch.compile(fn)``
fails on the device with ``TritonMissing``. Device memory is host memory, so
inductor's CPU code generation (C++ kernels built with the host compiler,
called from a Python wrapper) can run on device tensors in place. This module
registers that code generation for the device and adjusts the places where
inductor treats the device as a Triton GPU, each change for this device only:
CPU graphs and other devices compile as before.

``install()`` runs when the backend loads. Importing inductor takes seconds,
so it only arms an import hook: the adjustments are applied once
``torch._inductor.compile_fx`` has been imported (the first inductor compile),
or at once if it already was. Each adjustment below names the inductor
behaviour it answers and the torch source it depends on (read in the torch
2.9 to 2.15 sources). Everything it needs is looked up first; if a torch
release lacks any of it, nothing is patched and ``torch.compile`` on the
device raises ``InductorUnsupportedError``, which names the release and what
is missing, instead of failing somewhere inside inductor.

Not supported: ``cpp_wrapper=True``, AOTInductor and the FX wrapper
(``fx_wrapper=True``) raise ``InductorUnsupportedError`` on the device.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

# Bound now: if another backend fills the slot under torch's autoload, this
# package is dropped from sys.modules, and a relative import in a callback
# would import it again.
from . import _loader

PACKAGE = "{{ cookiecutter.package_name }}"
DEVICE_TYPE = "{{ cookiecutter.device_type }}"

# The module whose import means "inductor is about to compile": torch.compile's
# inductor wrapper, AOTInductor and standalone_compile all import it first.
TRIGGER_MODULE = "torch._inductor.compile_fx"
# Dynamo's device interfaces: adjustment 8 applies when it is imported.
DYNAMO_DEVICE_INTERFACE = "torch._dynamo.device_interface"

# The names the generated wrapper code uses for this module's helpers.
EMPTY_STRIDED_NAME = f"empty_strided_{DEVICE_TYPE}"
WAIT_NAME = f"wait_for_current_stream_{DEVICE_TYPE}"


class InductorUnsupportedError(RuntimeError):
    """torch.compile's inductor backend cannot run on this device (release or option)."""


# --- Helpers the generated wrapper code calls ----------------------------------------


def empty_strided_device(size: Any, stride: Any, dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor on the current device (inside the wrapper's device guard).

    Replaces ``torch._C._dynamo.guards._empty_strided_mtia``, which the wrapper
    header binds to ``empty_strided_mtia``: outside torch's own MTIA builds it
    raises "PyTorch compiled without support for the specified device".
    """
    return torch.empty_strided(size, stride, dtype=dtype, device=DEVICE_TYPE)


def wait_for_current_stream(device_index: int) -> None:
    """Block until the current stream of the device has run the work queued on it.

    The compiled C++ kernels run on the calling thread and read device memory
    directly, so they must start after the copies, fills and kernels already
    queued on the stream (a fill_ queued after a sleep, say). The wait
    releases the GIL (the guard's synchronizeStream).
    """
    getattr(torch, DEVICE_TYPE).current_stream(device_index).synchronize()


# --- What the adjustments need from torch ----------------------------------------------

# (module, attribute path): looked up before anything is patched. A release
# that lacks one gets InductorUnsupportedError on the device instead.
REQUIRED: list[tuple[str, str]] = [
    ("torch._inductor.codegen.common", "register_backend_for_device"),
    ("torch._inductor.codegen.common", "get_scheduling_for_device"),
    ("torch._inductor.codegen.cpp", "CppScheduling"),
    ("torch._inductor.codegen.wrapper", "PythonWrapperCodegen._generate_kernel_call_helper"),
    ("torch._inductor.codegen.wrapper", "PythonWrapperCodegen.wrap_kernel_call"),
    ("torch._inductor.codegen.wrapper", "PythonWrapperCodegen.write_header"),
    ("torch._inductor.codegen.wrapper", "PythonWrapperCodegen.create"),
    ("torch._inductor.codegen.wrapper", "SubgraphPythonWrapperCodegen"),
    ("torch._inductor.custom_graph_pass", "CustomGraphModulePass"),
    ("torch._inductor.scheduler", "BaseSchedulerNode.is_cpu"),
    ("torch._inductor.utils", "GPU_TYPES"),
    ("torch._inductor.utils", "device_need_guard"),
    ("torch._inductor.utils", "get_current_backend"),
    ("torch._inductor.virtualized", "V"),
]


def _lookup(module_name: str, path: str) -> Any:
    value: Any = importlib.import_module(module_name)
    for part in path.split("."):
        value = getattr(value, part)
    return value


def missing_features() -> list[str]:
    """The names in REQUIRED this torch lacks (imports inductor)."""
    missing = []
    for module_name, path in REQUIRED:
        try:
            _lookup(module_name, path)
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{path}")
    return missing


def _release() -> str:
    return torch.__version__.split("+")[0]


# --- Replacing a function everywhere inductor bound it --------------------------------


def _replace_function(module_name: str, name: str, make: Callable[[Callable], Callable]) -> None:
    """Replace ``module.name`` by ``make(original)``, and the copies ``from module import`` made.

    Modules imported later bind the replacement from the module itself; those
    already imported (``torch._inductor.*``) are rebound here.
    """
    module = importlib.import_module(module_name)
    original = getattr(module, name)
    if getattr(original, "_fake_device_original", None) is not None:
        return  # replaced already
    replacement = make(original)
    replacement._fake_device_original = original  # type: ignore[attr-defined]
    replacement.__name__ = original.__name__
    replacement.__doc__ = original.__doc__
    for loaded_name, loaded in list(sys.modules.items()):
        if loaded is None or not loaded_name.startswith("torch._inductor"):
            continue
        if getattr(loaded, name, None) is original:
            setattr(loaded, name, replacement)


def _current_device_type() -> str | None:
    from torch._inductor.virtualized import V

    try:
        return V.graph.get_current_device_or_throw().type
    except Exception:  # no graph being lowered, or no current device
        return None


# --- The adjustments ----------------------------------------------------------------------


def _stop_counting_as_gpu() -> None:
    """Adjustment 1: the device is not a Triton GPU.

    torch/_inductor/utils.py: ``GPU_TYPES`` lists "mtia" (a literal list in
    2.9-2.14; in 2.15 ``_gpu_types()`` builds it at import from the dynamo
    device interfaces whose ``is_gpu()`` is true, MtiaInterface's included),
    and ``is_gpu(device)`` is ``device in GPU_TYPES``. A GPU device with no
    triton installed makes ``Scheduler.create_backend`` (scheduler.py) raise
    ``TritonMissing`` whatever scheduling is registered, and makes inductor
    pick Triton-only paths (templates, Triton-specific fusions, cudagraphs
    checks). The list is shared by every module that imported it by name, so
    the device is removed in place.
    """
    utils = importlib.import_module("torch._inductor.utils")
    while DEVICE_TYPE in utils.GPU_TYPES:
        utils.GPU_TYPES.remove(DEVICE_TYPE)
    # get_gpu_type() is functools.cache'd over GPU_TYPES.
    cache_clear = getattr(getattr(utils, "get_gpu_type", None), "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def _keep_device_guards() -> None:
    """Adjustment 2: the wrapper still enters the device around the device's kernels.

    torch/_inductor/utils.py ``device_need_guard(device)`` is true only for
    GPU types (2.15 also asks the device interface's ``exposes_streams()``);
    scheduler.py calls it to decide whether to emit ``with
    torch.mtia.device(i):`` around a device's kernels. Without the guard,
    the buffers a graph on mtia:1 allocates land on the current device,
    mtia:0: outputs on the wrong device, silently. The in-tree mtia
    device_op_overrides (codegen/mtia/device_op_overrides.py) write the guard.
    """

    def make(original: Callable) -> Callable:
        def device_need_guard(device: str) -> bool:
            return device == DEVICE_TYPE or original(device)

        return device_need_guard

    _replace_function("torch._inductor.utils", "device_need_guard", make)


def _read_as_cpp_backend() -> None:
    """Adjustment 3: the current backend reads "cpp" on the device.

    torch/_inductor/utils.py ``get_current_backend()`` returns
    ``config.cuda_backend`` ("triton") for every device type it does not name
    (2.9 takes no argument; 2.10+ take an optional device type). The C++
    generator (codegen/common.py: CSE dtype checks, ``masked`` dtype
    propagation) asks it, and with "triton" it asserts on dynamic shapes and
    random ops. Bound by name in codegen/common.py, scheduler.py,
    kernel/mm_common.py and (2.15) lowering.py: every binding is replaced.
    """

    def make(original: Callable) -> Callable:
        def get_current_backend(*args: Any, **kwargs: Any) -> str:
            device_type = args[0] if args else kwargs.get("device_type")
            if (device_type or _current_device_type()) == DEVICE_TYPE:
                return "cpp"
            return original(*args, **kwargs)

        return get_current_backend

    _replace_function("torch._inductor.utils", "get_current_backend", make)


def _count_nodes_as_cpu() -> None:
    """Adjustment 4: scheduler nodes on the device count as CPU nodes.

    torch/_inductor/scheduler.py ``BaseSchedulerNode.is_cpu()`` is true only
    for device type "cpu". The scheduler uses it to keep the C++ backend out
    of loop reordering and index inversion, which it has not validated for
    CPU code ("Don't do loop reordering/reindexing for CPU for now").
    """
    scheduler = importlib.import_module("torch._inductor.scheduler")
    node_class = scheduler.BaseSchedulerNode
    original = node_class.is_cpu
    if getattr(original, "_fake_device_original", None) is not None:
        return

    def is_cpu(self: Any) -> bool:
        if original(self):
            return True
        device = self.get_device()
        return device is not None and device.type == DEVICE_TYPE

    is_cpu._fake_device_original = original  # type: ignore[attr-defined]
    node_class.is_cpu = is_cpu


def _wrapper_classes() -> tuple[type, type]:
    """Adjustment 5: the Python wrapper, for graphs on the device.

    torch/_inductor/codegen/wrapper.py ``PythonWrapperCodegen``:
    - ``write_header`` binds ``empty_strided_mtia`` to
      ``torch._C._dynamo.guards._empty_strided_mtia``, which raises outside
      torch's own MTIA builds, and ``make_allocation`` calls it for every
      buffer on the device: rebound to ``empty_strided_device`` (here).
    - ``_generate_kernel_call_helper`` raises "device mtia nyi" for a
      non-Triton kernel on a device other than cpu/mps (2.9-2.15). On the
      device, a C++ kernel is called as on the CPU, after
      ``wait_for_current_stream``: the kernel runs on the host thread, so
      without the wait it reads memory before the work queued on the
      stream (a fill_ after a sleep) has run, and sees stale data.
    - ``create`` (a staticmethod) builds the plain classes: overridden so
      that subgraphs (torch.cond, while_loop) use the subclass too.
    """
    wrapper = importlib.import_module("torch._inductor.codegen.wrapper")
    from torch._inductor.virtualized import V

    class DeviceKernelCalls:
        def write_header(self) -> None:
            super().write_header()  # type: ignore[misc]
            self.header.splice(  # type: ignore[attr-defined]
                f"""
                from {PACKAGE}._inductor import empty_strided_device as {EMPTY_STRIDED_NAME}
                from {PACKAGE}._inductor import wait_for_current_stream as {WAIT_NAME}
                """,
                strip=True,
            )

        def _generate_kernel_call_helper(
            self,
            kernel_name: str,
            call_args: Any,
            *,
            device: Any = None,
            triton: bool = True,
            **kwargs: Any,
        ) -> Any:
            target = device or V.graph.get_current_device_or_throw()
            if triton or target.type != DEVICE_TYPE:
                return super()._generate_kernel_call_helper(  # type: ignore[misc]
                    kernel_name, call_args, device=device, triton=triton, **kwargs
                )
            index = target.index
            if index is None:
                index = getattr(torch, DEVICE_TYPE).current_device()
            self.writeline(f"{WAIT_NAME}({index})")  # type: ignore[attr-defined]
            self.writeline(self.wrap_kernel_call(kernel_name, call_args))  # type: ignore[attr-defined]
            return None

    class SubgraphWrapper(DeviceKernelCalls, wrapper.SubgraphPythonWrapperCodegen):
        def write_header(self) -> None:
            # A subgraph shares its parent's header (SubgraphPythonWrapperCodegen).
            wrapper.SubgraphPythonWrapperCodegen.write_header(self)

    class Wrapper(DeviceKernelCalls, wrapper.PythonWrapperCodegen):
        @staticmethod
        def create(
            is_subgraph: bool,
            subgraph_name: str | None,
            parent_wrapper: Any,
            partition_signatures: Any = None,
        ) -> Any:
            if is_subgraph:
                return SubgraphWrapper(subgraph_name, parent_wrapper, partition_signatures)
            return Wrapper()

    Wrapper.__name__ = Wrapper.__qualname__ = f"PythonWrapper{DEVICE_TYPE.capitalize()}Host"
    SubgraphWrapper.__name__ = SubgraphWrapper.__qualname__ = (
        f"SubgraphPythonWrapper{DEVICE_TYPE.capitalize()}Host"
    )
    return Wrapper, SubgraphWrapper


def _source_fingerprint() -> str:
    """A hash of this module's source: what the cache keys must change with."""
    digest = hashlib.sha256(f"{PACKAGE}:{DEVICE_TYPE}:".encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def _cache_key_pass() -> Any:
    """Adjustment 6: inductor's caches see this code generation.

    torch/_inductor/codecache.py ``FxGraphHashDetails`` (whose subclass
    ``AOTAutogradCacheDetails`` in torch/_functorch/_aot_autograd/
    autograd_cache.py keys the AOT autograd cache) hashes the torch sources,
    the config and the graph, but not which scheduling or wrapper a device is
    registered with: code compiled before a change to this module would be
    reused. It does hash ``custom_backend_passes`` (the
    ``device_custom_pass`` of register_backend_for_device) through
    ``uuid()``: a pass that changes nothing in the graph, whose uuid is this
    module's source hash, puts the module in every key (2.9-2.15).
    """
    from torch._inductor.custom_graph_pass import CustomGraphModulePass

    fingerprint = _source_fingerprint()

    class CacheKeyPass(CustomGraphModulePass):
        def __call__(self, gm: torch.fx.GraphModule) -> None:
            return None  # the graph stays as it is

        def uuid(self) -> Any:
            return fingerprint

    return CacheKeyPass()


def _refusal(what: str) -> type:
    """A scheduling/wrapper class that raises InductorUnsupportedError when used."""

    class Refusal:
        # compile_fx asks every wrapper class of the graph's devices (2.9-2.15).
        supports_caching = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise InductorUnsupportedError(what)

        @staticmethod
        def create(*args: Any, **kwargs: Any) -> Any:
            raise InductorUnsupportedError(what)

    return Refusal


CPP_WRAPPER_REFUSAL = (
    f"{PACKAGE}: torch.compile with cpp_wrapper=True, AOTInductor and the FX "
    f"wrapper (fx_wrapper=True) are not supported on the {DEVICE_TYPE} device; "
    f"compile with the default Python wrapper"
)


def _register_code_generation(wrapper_class: type, cache_key_pass: Any) -> None:
    """Adjustment 7: the device gets the CPU's C++ code generation.

    torch/_inductor/codegen/common.py ``init_backend_registration()``
    registers ``TritonScheduling`` and ``PythonWrapperMtia`` (which imports
    ``mtia.host_runtime``) for mtia only when nothing is registered for it;
    ``register_backend_for_device`` replaces whatever is (same parameters in
    2.9-2.15).
    """
    common = importlib.import_module("torch._inductor.codegen.common")
    from torch._inductor.codegen.cpp import CppScheduling

    refusal = _refusal(CPP_WRAPPER_REFUSAL)
    common.register_backend_for_device(
        DEVICE_TYPE,
        CppScheduling,
        wrapper_class,
        device_cpp_wrapper_codegen=refusal,
        device_fx_wrapper_codegen=refusal,
        device_custom_pass=cache_key_pass,
    )


def _register_refusal(reason: str) -> None:
    """On a torch this module cannot adapt: compiling for the device raises, naming why."""
    message = (
        f"{PACKAGE}: torch.compile's default backend (inductor) cannot run on the "
        f"{DEVICE_TYPE} device with torch {_release()}: {reason}. Use "
        f'torch.compile(..., backend="aot_eager") (or "eager") on this release.'
    )
    try:
        _stop_counting_as_gpu()  # else TritonMissing comes first
        common = importlib.import_module("torch._inductor.codegen.common")
        refusal = _refusal(message)
        common.register_backend_for_device(DEVICE_TYPE, refusal, refusal, refusal, refusal)
    except Exception as error:  # this inductor is too different even for that
        warnings.warn(
            f"{message} (and could not say so at compile time: {error!r})",
            RuntimeWarning,
            stacklevel=2,
        )


_applied = False
_apply_lock = threading.RLock()
# Why inductor could not be adapted, or None (set by apply()).
unsupported_reason: str | None = None


def apply() -> None:
    """Adapt inductor to the device now (imports inductor). Idempotent.

    Does nothing unless this backend is loaded: when another backend fills
    the device slot, inductor is left to it.
    """
    global _applied, unsupported_reason
    with _apply_lock:
        if _applied or _loader._extension is None:
            return
        _applied = True
        missing = missing_features()
        if missing:
            unsupported_reason = "this release lacks " + ", ".join(missing)
            _register_refusal(unsupported_reason)
            return
        try:
            # Built first: nothing is patched if they fail.
            wrapper_class, _ = _wrapper_classes()
            cache_key_pass = _cache_key_pass()
            _stop_counting_as_gpu()
            _keep_device_guards()
            _read_as_cpp_backend()
            _count_nodes_as_cpu()
            _register_code_generation(wrapper_class, cache_key_pass)
            # Also here: under torch's autoload, install() ran before the extension loaded.
            device_interface = sys.modules.get(DYNAMO_DEVICE_INTERFACE)
            if device_interface is not None:
                _fix_dynamo_stream_getter(device_interface)
        except Exception as error:
            unsupported_reason = f"adapting its inductor failed ({error!r})"
            _register_refusal(unsupported_reason)


def _fix_dynamo_stream_getter(module: ModuleType) -> None:
    """Adjustment 8: dynamo's raw-stream getter for the device.

    torch/_dynamo/device_interface.py sets ``get_mtia_stream`` (and
    ``MtiaInterface.get_raw_stream``) to ``torch._C._mtia_getCurrentRawStream``
    only if ``torch.mtia._is_compiled()`` when it is imported, i.e. only if the
    MTIA hooks were registered by then: importing torch._dynamo before the
    backend leaves None there.
    """
    getter = getattr(torch._C, f"_{DEVICE_TYPE}_getCurrentRawStream", None)
    if getter is None or _loader._extension is None:  # not loaded: the slot is another's
        return
    variable = f"get_{DEVICE_TYPE}_stream"
    if hasattr(module, variable) and getattr(module, variable) is None:
        setattr(module, variable, getter)
    interface = getattr(module, f"{DEVICE_TYPE.capitalize()}Interface", None)
    if interface is not None and getattr(interface, "get_raw_stream", None) is None:
        interface.get_raw_stream = staticmethod(getter)


# --- Applying them after an import -------------------------------------------------------


class _AfterImportLoader(importlib.abc.Loader):
    """Runs callbacks once a module's own loader has executed it."""

    def __init__(self, loader: Any, callbacks: list[Callable[[ModuleType], None]]) -> None:
        self._loader = loader
        self._callbacks = callbacks

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        module.__loader__ = self._loader  # tools (inspect, linecache) see the real loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        for callback in self._callbacks:
            _run_callback(callback, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def _run_callback(callback: Callable[[ModuleType], None], module: ModuleType) -> None:
    try:
        callback(module)
    except Exception as error:  # never break the user's import of torch's module
        warnings.warn(
            f"{PACKAGE}: adapting {module.__name__} for the {DEVICE_TYPE} device failed: {error!r}",
            RuntimeWarning,
            stacklevel=2,
        )


class _AfterImportFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of the watched modules, found by the other finders."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[[ModuleType], None]]] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        callbacks = self.callbacks.get(fullname)
        if not callbacks:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        del self.callbacks[fullname]  # once
        spec.loader = _AfterImportLoader(spec.loader, callbacks)
        return spec


_finder = _AfterImportFinder()
_installed = False


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call ``callback(module)`` once module ``name`` is imported: now if it is already."""
    module = sys.modules.get(name)
    if module is not None:
        _run_callback(callback, module)
        return
    _finder.callbacks.setdefault(name, []).append(callback)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def install() -> None:
    """Called when the backend loads: adapt inductor and dynamo when they are imported."""
    global _installed
    if _installed:
        return
    _installed = True
    when_imported(DYNAMO_DEVICE_INTERFACE, _fix_dynamo_stream_getter)
    when_imported(TRIGGER_MODULE, lambda module: apply())
