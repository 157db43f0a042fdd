"""An emulated {{ cookiecutter.device_type }} device for PyTorch.

Importing the package builds the C++ extension on first use and registers the
backend, so that ``torch.device("{{ cookiecutter.device_type }}")``, ``torch.Stream``,
``torch.Event``, ``torch.{{ cookiecutter.device_type }}`` and ``torch.accelerator``
work without hardware.
"""

import atexit

from ._device import DEVICE_TYPE
from ._loader import load
from ._memory import memory_capacity, set_memory_capacity
from ._sleep import sleep

# Stop the device's threads before the interpreter tears down, whatever is
# still queued. Handlers registered later (by code using the device) run first.
atexit.register(load().shutdown)


def _autoload() -> None:
    """The ``torch.backends`` entry point: importing this package was the work."""


__all__ = ["DEVICE_TYPE", "load", "memory_capacity", "set_memory_capacity", "sleep"]
