"""torch.distributed and torch.multiprocessing on the {{ cookiecutter.device_type }} device.

Importing the package runs ``install()``, which changes only torch's Python
registries of distributed backends (and, through ``_sharing``, the pickler of
torch.multiprocessing), so that the three ways users create a process group
all handle device tensors:

- ``init_process_group()`` with no backend: torch picks the backend of the
  detected accelerator from ``Backend.default_device_backend_map``. The
  device maps to ``DEFAULT_BACKEND``, whose process group runs gloo for CPU
  *and* device tensors (torch itself would map only the accelerator, leaving
  CPU tensors with no backend).
- ``init_process_group("gloo")``: the device joins gloo's device list
  (``Backend.backend_capability["gloo"]``), so the one gloo backend serves
  CPU and device tensors.
- ``init_process_group("cpu:gloo,{{ cookiecutter.device_type }}:{{ cookiecutter.package_name }}")``:
  ``BACKEND`` is a gloo backend of its own for device tensors.

In each case the process group's backend for the device is torch's gloo. The
collectives reach it through the C++ kernels of the ``c10d`` operators for
the device (csrc/backend/collectives.cpp), which wait for the device's
current stream and hand gloo host tensors over the device memory. A real
backend would register its own collective library here instead (see the
README's Distributed section).
"""

from __future__ import annotations

import threading

import torch

from ._loader import DEVICE_TYPE, PACKAGE

# init_process_group("cpu:gloo,<device>:<BACKEND>"): gloo for the device's tensors.
BACKEND = PACKAGE
# What init_process_group() with no backend uses for this device: gloo for
# both CPU and device tensors, in one process group.
DEFAULT_BACKEND = f"{PACKAGE}_default"

_lock = threading.Lock()
_installed = False


def _new_gloo(options):
    """A gloo backend, made as torch makes its own (distributed_c10d._new_process_group_helper)."""
    from torch.distributed import ProcessGroupGloo

    gloo = ProcessGroupGloo(
        options.store, options.group_rank, options.group_size, timeout=options.timeout
    )
    gloo.options.global_ranks_in_group = list(options.global_ranks_in_group)
    gloo.options.group_name = options.group_id
    if hasattr(gloo, "_set_sequence_number_for_group"):
        gloo._set_sequence_number_for_group()
    return gloo


def _create_backend(options, backend_options=None):
    """The creator of BACKEND (extended API): gloo, for the device's tensors."""
    return _new_gloo(options)


def _create_default_group(options, backend_options=None):
    """The creator of DEFAULT_BACKEND: a whole process group, gloo for CPU and device tensors.

    torch replaces the process group it was building with one a creator
    returns (as it does for process groups written in Python), so the CPU
    gets a backend too.
    """
    from torch.distributed import ProcessGroup

    gloo = _new_gloo(options)
    group = ProcessGroup(options.store, options.group_rank, options.group_size)
    gloo_type = ProcessGroup.BackendType.GLOO
    group._set_default_backend(gloo_type)
    for device in ("cpu", DEVICE_TYPE):
        group._register_backend(torch.device(device), gloo_type, gloo)
    return group


def install() -> None:
    """Map the device to gloo in torch.distributed's registries, and share device tensors.

    Idempotent. Does nothing where torch has no distributed support.
    """
    global _installed
    from . import _sharing

    _sharing.install()
    if not torch.distributed.is_available():
        return
    with _lock:
        if _installed:
            return
        from torch.distributed import Backend

        gloo_devices = Backend.backend_capability.get(Backend.GLOO)
        if gloo_devices is not None and DEVICE_TYPE not in gloo_devices:
            gloo_devices.append(DEVICE_TYPE)
        # Always lists: torch 2.9 to 2.13 iterate a string's characters.
        for name, creator in ((BACKEND, _create_backend), (DEFAULT_BACKEND, _create_default_group)):
            if name.upper() not in Backend._plugins:
                Backend.register_backend(name, creator, extended_api=True, devices=[DEVICE_TYPE])
        Backend.default_device_backend_map[DEVICE_TYPE] = DEFAULT_BACKEND
        _installed = True


# The package imports this module when it loads.
install()
