"""Each device's memory capacity, which allocations beyond raise
``torch.OutOfMemoryError``. The template's ``device_memory_mib`` answer sets
the default; tests can lower it to provoke an out-of-memory error."""

from __future__ import annotations

import torch

from ._device import device_index
from ._loader import load


def set_memory_capacity(bytes: int, device: int | str | torch.device | None = None) -> None:
    """Let ``device`` (the current device by default) hold at most ``bytes``.

    Tensors already allocated stay; new allocations fail while they would
    exceed the capacity.
    """
    if isinstance(bytes, bool) or not isinstance(bytes, int) or bytes < 0:
        raise ValueError(f"set_memory_capacity() takes a number of bytes >= 0, got {bytes!r}")
    load().set_memory_capacity(device_index(device), bytes)


def memory_capacity(device: int | str | torch.device | None = None) -> int:
    """How many bytes ``device`` (the current device by default) may hold."""
    return load().memory_capacity(device_index(device))
