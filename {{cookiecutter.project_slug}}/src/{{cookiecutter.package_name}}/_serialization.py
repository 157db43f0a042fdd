"""torch.save and torch.load with {{ cookiecutter.device_type }} tensors on every supported release.

torch.load restores a storage where its location tag (``"{{ cookiecutter.device_type }}:0"``,
or ``map_location``) says, through the deserializers of
``torch.serialization.register_package``. torch registers one for
``{{ cookiecutter.device_type }}`` from torch 2.10; on older releases ``torch.load(...,
map_location="{{ cookiecutter.device_type }}:0")`` raised "don't know how to restore data
location". install() registers the same pair there, through that public API.
"""

from __future__ import annotations

import torch

from ._device import DEVICE_TYPE

# After torch's own (cpu 10, cuda 20, ..., xpu 25), where torch 2.10 puts this device's.
PRIORITY = 26


def _tag(storage) -> str | None:
    if storage.device.type == DEVICE_TYPE:
        return str(storage.device)
    return None


def _restore(storage, location: str):
    if location == DEVICE_TYPE or location.startswith(f"{DEVICE_TYPE}:"):
        return storage.to(device=torch.device(location))
    return None


def torch_restores_the_device() -> bool:
    """Whether torch registered a location for the device itself (torch >= 2.10).

    torch registers ``functools.partial(_deserialize, "<device type>")``; asking
    the deserializers instead would initialise the device, which must not
    happen before the backend has loaded (install() runs under torch's
    autoload too).
    """
    return any(
        getattr(restore, "args", None) == (DEVICE_TYPE,)
        for _, _, restore in torch.serialization._package_registry
    )


def install() -> None:
    """Register the device's location where torch has none. Idempotent."""
    registered = any(restore is _restore for _, _, restore in torch.serialization._package_registry)
    if not registered and not torch_restores_the_device():
        torch.serialization.register_package(PRIORITY, _tag, _restore)
