"""PyTorch's device-generic test framework, for the {{ cookiecutter.device_type }} device.

``torch.testing._internal.common_device_type`` turns a generic test class into
one class per device type (``TestFooCPU``, ``TestFooCUDA``, ...) with
``instantiate_device_type_tests``. It has test bases for cpu, cuda, xpu, mps,
hpu, lazy and PrivateUse1, but none for ``{{ cookiecutter.device_type }}``, so it never makes a
``{{ cookiecutter.device_type | upper }}`` variant. Importing this module registers one,
``{{ cookiecutter.device_type | upper }}TestBase`` (modelled on torch's ``XPUTestBase``), and loads the
backend. It needs ``expecttest``, which torch's test utilities import.

Your own tests::

    import torch
    from torch.testing._internal.common_device_type import (
        dtypes, instantiate_device_type_tests, ops)
    from torch.testing._internal.common_methods_invocations import op_db
    from torch.testing._internal.common_utils import TestCase, run_tests

    import {{ cookiecutter.package_name }}.testing  # registers the {{ cookiecutter.device_type }} test base

    class TestMyKernels(TestCase):
        @dtypes(torch.float32, torch.int64)
        def test_add(self, device, dtype):  # device is "{{ cookiecutter.device_type }}:0" in the {{ cookiecutter.device_type | upper }} class
            x = torch.ones(3, device=device, dtype=dtype)
            self.assertEqual((x + x).cpu(), torch.full((3,), 2, dtype=dtype))

    # Makes TestMyKernelsCPU and TestMyKernels{{ cookiecutter.device_type | upper }}
    # (test_add_{{ cookiecutter.device_type }}_float32, ...); only_for="{{ cookiecutter.device_type }}" makes just the latter.
    instantiate_device_type_tests(TestMyKernels, globals())

    if __name__ == "__main__":
        run_tests()

Both ``python test_mine.py`` and ``pytest test_mine.py`` run it.

PyTorch's own device-generic tests (``test/test_torch.py``, ``test/test_ops.py``,
``test/test_view_ops.py``, ... in a PyTorch source checkout of the installed
release) need the base registered before they call
``instantiate_device_type_tests``. Any one of:

- ``python -m {{ cookiecutter.package_name }}.testing test/test_view_ops.py [ARGS]`` registers
  it and runs the file as ``__main__`` with ARGS (unittest's, e.g. ``-k``);
- ``pytest -p {{ cookiecutter.package_name }}.testing test/test_view_ops.py`` imports this
  module as a plugin before collecting;
- ``TORCH_TEST_DEVICES=/path/to/{{ cookiecutter.package_name }}/testing.py`` is torch's own hook
  for out-of-tree test bases (``python -c "import {{ cookiecutter.package_name }}.testing as t;
  print(t.__file__)"`` prints the path): every test file that imports
  ``common_device_type`` picks the base up.

Set ``PYTORCH_TESTING_DEVICE_ONLY_FOR={{ cookiecutter.device_type }}`` to skip the CPU variants.
Tests marked ``@onlyCUDA`` and the like skip on this device, as they do on
every device they don't name. From torch 2.13, ``{{ cookiecutter.device_type | upper }}TestBase.set_test_configs``
(op allowlists, overrides, exclusions) works as on any test base.
"""

from __future__ import annotations

import runpy
import sys
from typing import ClassVar

import torch
from torch.testing._internal import common_device_type
from torch.testing._internal.common_device_type import DeviceTypeTestBase

# Loads the backend: after this, "{{ cookiecutter.device_type }}" tensors work.
import {{ cookiecutter.package_name }}

DEVICE_TYPE = {{ cookiecutter.package_name }}.DEVICE_TYPE


class {{ cookiecutter.device_type | upper }}TestBase(DeviceTypeTestBase):
    """The device-type test base of the {{ cookiecutter.device_type }} device.

    Single-device tests get the current device (``{{ cookiecutter.device_type }}:0`` unless changed);
    tests that ask for several (``@deviceCountAtLeast``) get every device,
    the primary one first.
    """

    device_type = DEVICE_TYPE
    primary_device: ClassVar[str]

    @classmethod
    def get_primary_device(cls) -> str:
        return cls.primary_device

    @classmethod
    def get_all_devices(cls) -> list[str]:
        primary = cls.get_primary_device()
        count = torch.get_device_module(DEVICE_TYPE).device_count()
        others = [f"{DEVICE_TYPE}:{index}" for index in range(count)]
        return [primary] + [device for device in others if device != primary]

    @classmethod
    def setUpClass(cls) -> None:
        index = torch.get_device_module(DEVICE_TYPE).current_device()
        cls.primary_device = f"{DEVICE_TYPE}:{index}"

    def _should_stop_test_suite(self) -> bool:
        # A failed operator leaves the device usable: later tests still run.
        return False

    @classmethod
    def _capabilities(cls):
        # torch >= 2.15 (@requires_capabilities). The device runs the CPU's
        # kernels, so it has the CPU's capabilities.
        capability = getattr(common_device_type, "Capability", None)
        if capability is None:
            return {}
        return {
            capability.dtype.fp8: lambda: True,
            capability.dtype.bf16: lambda: True,
            capability.attention.flash_attention: lambda: True,
            capability.attention.mem_efficient_attention: lambda: False,
        }


def register() -> type[DeviceTypeTestBase]:
    """Add the base to torch's list of device-type test bases, once; return the registered one.

    Importing this module calls it. ``instantiate_device_type_tests`` reads
    the list each time it runs, so a call before it is enough.
    """
    bases = common_device_type.device_type_test_bases
    for base in bases:
        if base.device_type == DEVICE_TYPE:
            return base
    bases.append({{ cookiecutter.device_type | upper }}TestBase)
    return {{ cookiecutter.device_type | upper }}TestBase


# TORCH_TEST_DEVICES runs this file with runpy (as "<run_path>") while
# common_device_type is being imported, and appends TEST_CLASS itself;
# `python -m` registers in main(); an import registers here.
TEST_CLASS = {{ cookiecutter.device_type | upper }}TestBase
if __name__ == "{{ cookiecutter.package_name }}.testing":
    register()


def main(argv: list[str]) -> int:
    """``python -m {{ cookiecutter.package_name }}.testing TEST_FILE [ARGS]``: run a test file on the device."""
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "usage: python -m {{ cookiecutter.package_name }}.testing TEST_FILE [ARGS]\n"
            "runs a PyTorch test file as __main__ with the "
            f"{DEVICE_TYPE} test base registered",
            file=sys.stderr,
        )
        return 2
    register()
    sys.argv = argv
    # Older torch releases (2.9) read the command line when common_utils is imported
    # (now, with this module's path first) into UNITTEST_ARGS, run_tests()'s
    # default: the test file must come first there, as if it had been run.
    from torch.testing._internal import common_utils

    parsed = common_utils.UNITTEST_ARGS
    if len(parsed) >= 2 and parsed[1] == argv[0]:
        del parsed[0]
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
