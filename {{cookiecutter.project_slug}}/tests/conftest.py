"""Shared set-up: load the backend once, and give every test a clean slate.

The device type comes from the package (``DEVICE_TYPE``, the template's
answer), never from a literal: each test module starts with::

    DEVICE = backend.DEVICE_TYPE
    device_module = torch.get_device_module(DEVICE)

and names devices as ``f"{DEVICE}:0"`` and the device module's API as
``device_module.synchronize()`` and the like.

Every test is part of the backend's contract, what any device behind the glue
must pass, unless marked ``emulator`` (behaviour of the emulated device
itself): ``pytest -m "not emulator"`` is the suite a port to real hardware runs.
"""

import pytest
import torch

import {{ cookiecutter.package_name }} as backend  # builds and registers the backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


@pytest.fixture
def expected_device_count() -> int:
    """The number of devices the project was generated with."""
    return {{ cookiecutter.device_count | int }}


@pytest.fixture
def expected_device_name() -> str:
    return {{ cookiecutter.device_name | quoted }}


@pytest.fixture
def expected_device_memory_mib() -> int:
    return {{ cookiecutter.device_memory_mib | int }}


@pytest.fixture
def supported_dtypes() -> set:
    """The dtypes a device tensor can have: the C++ list (csrc/backend/dtypes.h), the one source."""
    return set(backend.load().supported_dtypes())


@pytest.fixture(autouse=True)
def restore_current_device_and_streams():
    """Undo any device or stream a test made current on this thread."""
    yield
    for index in range(device_module.device_count()):
        device_module.set_stream(device_module.default_stream(index))
    device_module.set_device(0)


@pytest.fixture
def other_device() -> int:
    """A second device index, for tests that switch between two devices."""
    if device_module.device_count() < 2:
        pytest.skip("needs two devices; this project was generated with one")
    return 1


@pytest.fixture
def out_of_range_index() -> int:
    """The first device index past the last device."""
    return device_module.device_count()
