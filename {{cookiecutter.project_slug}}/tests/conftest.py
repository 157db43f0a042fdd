"""Shared set-up: load the backend once, and give every test a clean slate."""

import pytest
import torch

import {{ cookiecutter.package_name }}  # noqa: F401  (builds and registers the backend)


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
    """The dtypes a device tensor can have (csrc/backend/dtypes.h)."""
    return {
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.uint16,
        torch.uint32,
        torch.uint64,
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.complex32,
        torch.complex64,
        torch.complex128,
        torch.float8_e5m2,
        torch.float8_e4m3fn,
        torch.float8_e5m2fnuz,
        torch.float8_e4m3fnuz,
        torch.float8_e8m0fnu,
    }


@pytest.fixture(autouse=True)
def restore_current_device_and_streams():
    """Undo any device or stream a test made current on this thread."""
    yield
    for index in range(torch.mtia.device_count()):
        torch.mtia.set_stream(torch.mtia.default_stream(index))
    torch.mtia.set_device(0)


@pytest.fixture
def other_device() -> int:
    """A second device index, for tests that switch between two devices."""
    if torch.mtia.device_count() < 2:
        pytest.skip("needs two devices; this project was generated with one")
    return 1


@pytest.fixture
def out_of_range_index() -> int:
    """The first device index past the last device."""
    return torch.mtia.device_count()
