"""An emulated {{ cookiecutter.device_type }} device for PyTorch.

Importing the package builds the C++ extension on first use and registers the
backend, so that ``torch.device("{{ cookiecutter.device_type }}")``, ``torch.Stream``,
``torch.Event``, ``torch.{{ cookiecutter.device_type }}`` and ``torch.accelerator``
work without hardware. Only one backend can fill the device slot in a process:
importing this one after another raises an ImportError that names the other.
"""


def _autoload() -> None:
    """The ``torch.backends`` entry point, which ``import torch`` calls when installed.

    Defined before anything imports torch: when this package is imported
    first, its ``import torch`` autoloads it while it is half imported, and
    torch looks this function up on it then.
    """
    from . import _loader

    _loader.autoload()


# After _autoload (see above): these import torch. Importing _distributed
# teaches torch.distributed and torch.multiprocessing the device; _profiler,
# torch.profiler.
from . import _distributed, _loader, _profiler  # noqa: E402, F401
from ._device import DEVICE_TYPE  # noqa: E402
from ._loader import load  # noqa: E402
from ._memory import memory_capacity, set_memory_capacity  # noqa: E402
from ._sleep import sleep  # noqa: E402

# Under torch's autoload, _autoload() loads next, and warns instead of failing
# if another backend fills the slot: `import torch` must not fail for that.
if not _loader.torch_is_importing():
    load()

# torch.save / torch.load with device tensors, where torch has no location for the device.
from . import _serialization  # noqa: E402

_serialization.install()

# torch.compile's default backend (inductor) on the device, applied when inductor is imported.
from . import _inductor  # noqa: E402

_inductor.install()


__all__ = ["DEVICE_TYPE", "load", "memory_capacity", "set_memory_capacity", "sleep"]
