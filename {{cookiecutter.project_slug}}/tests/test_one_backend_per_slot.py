"""One backend per device slot: a second generated backend in the same process
is refused with an ImportError that names the first, before it builds or
registers anything (torch would abort the interpreter), and the first keeps
working. The second backend is this checkout copied under another package name.
"""

import os

import pytest
import torch
from checkout_python import PROJECT_ROOT, copy_checkout, run_python

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

PACKAGE = backend.__name__
DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
SECOND = f"{PACKAGE}_second"


@pytest.fixture(scope="module")
def second_backend(tmp_path_factory):
    """The src/ folder of a second backend, never built: it must be refused first."""
    return copy_checkout(tmp_path_factory.mktemp("second"), package=SECOND) / "src"


def run_with_both(second_backend, code):
    """Run ``code`` where both packages can be imported; return its stdout."""
    path = os.pathsep.join([str(PROJECT_ROOT / "src"), str(second_backend)])
    result = run_python("-c", code, timeout=300, PYTHONPATH=path)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


IMPORT_BOTH = f"""
import sys, torch
import {PACKAGE}
try:
    import {SECOND}
except ImportError as error:
    print(type(error).__name__, error)
else:
    print("second backend loaded")
print("{SECOND}_C" in sys.modules)
print(torch.ones(2, device={DEVICE!r}).sum().item())
"""


@pytest.fixture(scope="module")
def import_both(second_backend):
    """The output of importing this backend, then the second one."""
    return run_with_both(second_backend, IMPORT_BOTH)


def test_second_backend_raises_an_import_error_naming_the_first(import_both):
    refusal = import_both[0]
    assert refusal.startswith("DeviceSlotTakenError ")
    assert f"{SECOND} cannot load" in refusal
    assert f"filled by {PACKAGE} ({PROJECT_ROOT / 'src' / PACKAGE})" in refusal


def test_second_backend_is_refused_before_its_extension_is_built_or_loaded(
    import_both, second_backend
):
    assert import_both[1] == "False"
    assert not any(path.name.startswith(f"{SECOND}_C") for path in second_backend.rglob("*"))
    assert not _loader.build_directory(f"{SECOND}_C").parents[1].exists()


def test_first_backend_keeps_working_after_refusing_the_second(import_both):
    assert import_both[2] == "2.0"


def test_refusal_names_a_foreign_backend_by_where_it_registered_its_kernels(second_backend):
    # A backend that does not record itself (not made from this template).
    code = (
        f"import torch, {PACKAGE}\n"
        f"del torch.get_device_module({DEVICE!r}).{_loader.OWNER_ATTRIBUTE}\n"
        f"try:\n    import {SECOND}\n"
        "except ImportError as error:\n    print(error)\n"
    )
    (refusal,) = run_with_both(second_backend, code)
    assert "aten::empty.memory_format kernel is registered at " in refusal
    assert "tensors.cpp:" in refusal


def test_this_backend_owns_the_slot_it_loaded():
    assert _loader.slot_owner() == _loader.this_backend()
    _loader.refuse_if_slot_taken()  # its own slot: no error


def test_loading_the_same_package_again_is_a_no_op():
    # A fresh import of the same package (as after clearing sys.modules) finds
    # the slot filled by itself: it loads the extension already loaded.
    code = (
        f"import importlib, sys, torch, {PACKAGE} as first\n"
        "extension = first.load()\n"
        f"for name in [m for m in sys.modules if m.split('.')[0] == {PACKAGE!r}]:\n"
        "    del sys.modules[name]\n"
        f"again = importlib.import_module({PACKAGE!r})\n"
        "print(again is not first, again.load() is extension)\n"
        f"print(torch.ones(2, device={DEVICE!r}).sum().item())\n"
    )
    result = run_python("-c", code, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "2.0"]


def test_slot_owner_is_read_without_asking_torch_for_devices(monkeypatch):
    # torch caches its hooks lookup: the check must not call into the device module.
    def forbidden(*arguments, **keywords):
        raise AssertionError(f"the slot check asked torch.{DEVICE} for devices")

    for name in ("is_available", "device_count", "_lazy_init", "init"):
        monkeypatch.setattr(device_module, name, forbidden)
    monkeypatch.delattr(device_module, _loader.OWNER_ATTRIBUTE)
    assert _loader.slot_owner().startswith("an extension whose")
