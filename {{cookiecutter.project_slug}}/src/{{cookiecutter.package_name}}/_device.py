"""The device type this backend fills, and turning user arguments into its indices."""

from __future__ import annotations

import torch

DEVICE_TYPE = "{{ cookiecutter.device_type }}"


def device_index(device: int | str | torch.device | None) -> int:
    """The index ``device`` names; None is the current device."""
    module = torch.get_device_module(DEVICE_TYPE)
    if device is None:
        return module.current_device()
    if isinstance(device, bool) or not isinstance(device, (int, str, torch.device)):
        raise TypeError(f"expected a device index, name or torch.device, got {device!r}")
    if isinstance(device, int):
        return device
    device = torch.device(device)
    if device.type != DEVICE_TYPE:
        raise ValueError(f"expected a {DEVICE_TYPE} device, got {device}")
    return module.current_device() if device.index is None else device.index
