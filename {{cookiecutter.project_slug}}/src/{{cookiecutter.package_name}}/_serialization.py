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
        # Not storage.to(device): before torch 2.10 it builds the copy with
        # torch.UntypedStorage(size, device=...), which knows no {{ cookiecutter.device_type }}.
        device = torch.device(location)
        restored = torch.empty(storage.nbytes(), dtype=torch.uint8, device=device)
        restored = restored.untyped_storage()
        restored.copy_(storage)
        return restored
    return None


# Marks the deserializer as this device's in torch's registry, so a re-import
# of the package (a new _restore object), or a second copy of it under another
# name, sees the location already registered.
_restore.restores_device_type = DEVICE_TYPE


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
    registry = torch.serialization._package_registry
    registered = any(
        getattr(restore, "restores_device_type", None) == DEVICE_TYPE for _, _, restore in registry
    )
    if registered or torch_restores_the_device():
        return
    # torch 2.9 sorts the registry's (priority, tagger, deserializer) tuples: an
    # equal priority compares the functions and raises TypeError.
    priority = PRIORITY
    while any(taken == priority for taken, _, _ in registry):
        priority += 1
    torch.serialization.register_package(priority, _tag, _restore)
