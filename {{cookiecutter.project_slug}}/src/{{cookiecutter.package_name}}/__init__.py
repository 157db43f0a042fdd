"""An emulated {{ cookiecutter.device_type }} device for PyTorch.

Importing the package builds the C++ extension on first use and registers the
backend, so that ``torch.device("{{ cookiecutter.device_type }}")``, ``torch.Stream``,
``torch.Event``, ``torch.{{ cookiecutter.device_type }}`` and ``torch.accelerator``
work without hardware.
"""

from ._loader import load

DEVICE_TYPE = "{{ cookiecutter.device_type }}"

load()

__all__ = ["DEVICE_TYPE", "load"]
