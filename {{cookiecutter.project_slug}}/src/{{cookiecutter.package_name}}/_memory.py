"""Each device's memory capacity, which allocations beyond raise
``torch.OutOfMemoryError``. The template's ``device_memory_mib`` answer sets
the default; tests can lower it to provoke an out-of-memory error.

The capacity is the emulator's (csrc/emulator/emulator.h): a real device has
the memory it has, and these raise NotImplementedError on another driver."""

from __future__ import annotations

import operator

import torch

from . import _loader
from ._device import device_index
from ._loader import load

# The driver counts bytes in a 64-bit size_t.
MAX_CAPACITY = 2**64 - 1


def set_memory_capacity(bytes: int, device: int | str | torch.device | None = None) -> None:
    """Let ``device`` (the current device by default) hold at most ``bytes``.

    ``bytes`` is an int (or anything with ``__index__``, such as a NumPy
    integer) from 0 to 2**64 - 1. Tensors already allocated stay; new
    allocations fail while they would exceed the capacity.
    """
    if isinstance(bytes, bool):
        raise ValueError(f"set_memory_capacity() takes a number of bytes >= 0, got {bytes!r}")
    try:
        count = operator.index(bytes)
    except TypeError:
        raise TypeError(
            f"set_memory_capacity() takes a number of bytes as an int, got {type(bytes).__name__}"
        ) from None
    if count < 0:
        raise ValueError(f"set_memory_capacity() takes a number of bytes >= 0, got {count}")
    if count > MAX_CAPACITY:
        raise ValueError(
            f"set_memory_capacity() takes at most {MAX_CAPACITY} bytes (2**64 - 1), got {count}"
        )
    _emulator_function("set_memory_capacity")(device_index(device), count)


def memory_capacity(device: int | str | torch.device | None = None) -> int:
    """How many bytes ``device`` (the current device by default) may hold."""
    return _emulator_function("memory_capacity")(device_index(device))


def _emulator_function(name: str):
    extension = load()
    function = getattr(extension, name, None)
    if function is None:
        raise NotImplementedError(
            f"{name}() is the emulated device's, and this build's driver "
            f"({_loader.DRIVER}) has no settable memory capacity"
        )
    return function
