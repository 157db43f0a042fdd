"""Shared set-up: load the backend once, and give every test a clean slate."""

import pytest
import torch

import {{ cookiecutter.package_name }}  # noqa: F401  (builds and registers the backend)


@pytest.fixture
def expected_device_count() -> int:
    """The number of devices the project was generated with."""
    return {{ cookiecutter.device_count | int }}


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
