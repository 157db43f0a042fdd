"""Sending {{ cookiecutter.device_type }} tensors between processes with torch.multiprocessing.

torch pickles a CPU tensor for another process by moving its storage into
shared memory and sending a file descriptor; a CUDA tensor, by sending a
CUDA IPC handle. For other devices it raises ``_share_fd_: only available on
CPU`` -- in a multiprocessing.Queue's feeder thread, which drops the item,
so the consumer waits forever. ``install()`` registers reductions with
multiprocessing's ForkingPickler (torch.multiprocessing's pickler) that send
device tensors as CUDA's IPC does:

- the producer moves the storage into shareable device memory the first
  time it is sent (csrc/backend/ipc.cpp) and sends a descriptor of that
  memory (multiprocessing's DupFd: SCM_RIGHTS) with the tensor's layout;
- the consumer maps the memory and wraps it as a device tensor of its own
  device with the same index: both processes see the same memory, and a
  storage sent twice arrives as one storage.

Unpickling imports this module, which loads the backend in the consumer.
Other tensors go to torch's reductions. If a device tensor cannot be shared,
the producer warns and sends an error instead, which the consumer raises
when it receives it: nothing waits forever.

Processes must be started with "spawn" or "forkserver": a child forked after
its parent used the device refuses to use it (the error names 'spawn'). For
a DataLoader whose workers return device tensors, pass
``multiprocessing_context="spawn"``. In a worker, torch's default collate
stacks a batch into shared memory made with ``Tensor.new(storage)``, which
torch refuses for this device; ``install()`` makes it stack device tensors
with ``torch.stack`` (the batch moves into shareable memory when it is sent).
"""

from __future__ import annotations

import os
import threading
import warnings
from multiprocessing import reduction

import torch
from torch.multiprocessing import reductions as torch_reductions

from ._loader import DEVICE_TYPE, PACKAGE, load

_lock = threading.Lock()
_installed = False
# The reductions torch (or anyone before us) registered, for the other tensors.
_previous: dict[type, object] = {}
# Storages this process opened, by (device, inode of the shared memory, offset),
# so that a storage sent twice (or two tensors of one storage) arrive as one.
_opened: dict[tuple, torch_reductions.StorageWeakRef] = {}


class SharingError(RuntimeError):
    """A device tensor could not be sent to another process."""


def _refuse(message: str):
    """Rebuilds a tensor the producer could not share: raises in the consumer."""
    raise SharingError(message)


def reduce_tensor(tensor: torch.Tensor):
    """ForkingPickler's reduction for torch.Tensor and Parameter."""
    if tensor.device.type != DEVICE_TYPE:
        return _previous.get(type(tensor), torch_reductions.reduce_tensor)(tensor)
    if tensor.requires_grad and not tensor.is_leaf:
        # torch's words for CPU and CUDA tensors.
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, "
            "since autograd does not support crossing process boundaries.  "
            "If you just want to transfer the data, call detach() on the tensor "
            "before serializing (e.g., putting it on the queue)."
        )
    torch.utils.hooks.warn_if_has_hooks(tensor)
    try:
        if tensor.layout != torch.strided:
            raise SharingError(
                f"only strided {DEVICE_TYPE} tensors can be shared, not {tensor.layout}"
            )
        fd, offset, block_bytes, device = load().ipc_share_storage(tensor)
    except Exception as error:  # noqa: BLE001 - sent to the consumer, which raises it
        message = (
            f"{PACKAGE} could not share a {DEVICE_TYPE} tensor with another process: {error} "
            f"(send tensor.cpu() instead)"
        )
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        return (_refuse, (message,))
    handle = reduction.DupFd(fd) if fd >= 0 else None
    return (
        rebuild_tensor,
        (
            type(tensor),
            handle,
            offset,
            block_bytes,
            tensor.untyped_storage().nbytes(),
            device,
            tensor.dtype,
            tuple(tensor.size()),
            tuple(tensor.stride()),
            tensor.storage_offset(),
            tensor.requires_grad,
        ),
    )


def _open_storage(handle, offset: int, block_bytes: int, nbytes: int, device: int):
    extension = load()
    if handle is None:
        return extension.ipc_open_storage(-1, 0, 0, device, 0).untyped_storage()
    fd = handle.detach()
    try:
        status = os.fstat(fd)
        key = (device, status.st_dev, status.st_ino, offset)
        with _lock:
            known = _opened.get(key)
            if known is not None and not known.expired():
                storage = torch.UntypedStorage._new_with_weak_ptr(known.cdata)
                if storage.nbytes() == nbytes:
                    return storage
            storage = extension.ipc_open_storage(fd, offset, block_bytes, device, nbytes)
            storage = storage.untyped_storage()
            for stale in [k for k, ref in _opened.items() if ref.expired()]:
                del _opened[stale]
            _opened[key] = torch_reductions.StorageWeakRef(storage)
            return storage
    finally:
        os.close(fd)


def rebuild_tensor(
    cls,
    handle,
    offset,
    block_bytes,
    nbytes,
    device,
    dtype,
    size,
    stride,
    storage_offset,
    requires_grad,
):
    """Unpickles a device tensor in the consumer (loading the backend first)."""
    storage = _open_storage(handle, offset, block_bytes, nbytes, device)
    tensor = torch.empty((0,), dtype=dtype, device=torch.device(DEVICE_TYPE, device))
    tensor.set_(storage, storage_offset, size, stride)
    if cls is torch.nn.Parameter:
        return torch.nn.Parameter(tensor, requires_grad=requires_grad)
    tensor.requires_grad_(requires_grad)
    return tensor


def _install_collate() -> None:
    """DataLoader's default collate: device tensors are stacked without Tensor.new(storage)."""
    from torch.utils.data._utils import collate

    original = collate.default_collate_fn_map.get(torch.Tensor)
    if original is None:
        return

    def collate_tensor_fn(batch, *, collate_fn_map=None):
        if batch[0].device.type == DEVICE_TYPE:
            return torch.stack(batch, 0)
        return original(batch, collate_fn_map=collate_fn_map)

    collate.default_collate_fn_map[torch.Tensor] = collate_tensor_fn


def install() -> None:
    """Register the reductions with ForkingPickler (after torch.multiprocessing's). Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        for cls in (torch.Tensor, torch.nn.Parameter):
            _previous[cls] = reduction.ForkingPickler._extra_reducers.get(
                cls, torch_reductions.reduce_tensor
            )
            reduction.register(cls, reduce_tensor)
        _install_collate()
        _installed = True
