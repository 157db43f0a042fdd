"""The device type this backend fills, and turning user arguments into its indices."""

from __future__ import annotations

import operator
import re

import torch

DEVICE_TYPE = "{{ cookiecutter.device_type }}"

# torch keeps device indices in 8 bits: "mtia:200" arrives as -56, and only
# -1 means "the current device". A name is read here before torch wraps it.
_INDEX_BITS = 8
_NAMED_INDEX = re.compile(rf"{re.escape(DEVICE_TYPE)}:(0|[1-9][0-9]*)")


def device_count() -> int:
    """How many devices the driver has (asks neither torch nor its lazy initialisation)."""
    from ._loader import load

    return load().device_count()


def checked_index(index: int, from_torch: bool = False) -> int:
    """``index`` if it names a device; else a RuntimeError naming it and the device count.

    ``from_torch``: the index comes from a torch.device or torch.Stream, where
    an index above 127 was wrapped to a negative number; it is shown as the
    user wrote it.
    """
    shown = str(index)
    if from_torch and -(1 << (_INDEX_BITS - 1)) <= index < -1:
        # Above 127 and wrapped, or negative as written: torch no longer knows which.
        shown = f"{index + (1 << _INDEX_BITS)} (or {index}: torch keeps device indices in 8 bits)"
        index += 1 << _INDEX_BITS
    count = device_count()
    if not 0 <= index < count:
        raise RuntimeError(
            f"device index {shown} is out of range: {count} {DEVICE_TYPE} devices "
            f"(valid indices 0 to {count - 1})"
        )
    return index


def current_device() -> int:
    return torch.get_device_module(DEVICE_TYPE).current_device()


def device_index(device: int | str | torch.device | None) -> int:
    """The index ``device`` names, checked; None is the current device.

    Takes an index (an int, or anything with ``__index__``, such as a NumPy
    integer), a name ("mtia", "mtia:1") or a torch.device.
    """
    if device is None:
        return current_device()
    if isinstance(device, bool):
        raise TypeError(f"expected a device index, name or torch.device, got {device!r}")
    if isinstance(device, str):
        named = _NAMED_INDEX.fullmatch(device)
        if named is not None:
            return checked_index(int(named.group(1)))
        device = torch.device(device)
    if isinstance(device, torch.device):
        if device.type != DEVICE_TYPE:
            raise ValueError(f"expected a {DEVICE_TYPE} device, got {device}")
        if device.index is None:
            return current_device()
        return checked_index(device.index, from_torch=True)
    try:
        index = operator.index(device)
    except TypeError:
        raise TypeError(f"expected a device index, name or torch.device, got {device!r}") from None
    return checked_index(index)


def stream_device_index(stream: torch.Stream) -> int:
    """The device of a stream, checked; a stream made with index -1 is on the current device."""
    index = stream.device_index
    return current_device() if index is None or index == -1 else checked_index(index, True)
