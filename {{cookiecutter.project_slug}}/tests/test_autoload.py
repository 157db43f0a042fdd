"""PyTorch's device-backend autoload: with the package's ``torch.backends``
entry point declared, as an install declares it, ``import torch`` loads the
backend, and never fails because a second backend is installed too.

The entry points come from dist-info folders written here (what pip writes,
less the files), so no wheel is built; the second backend is this checkout
copied under another package name.
"""

import os

import pytest
from checkout_python import PROJECT_ROOT, copy_checkout, run_python

import {{ cookiecutter.package_name }} as backend

PACKAGE = backend.__name__
DEVICE = backend.DEVICE_TYPE
SECOND = f"{PACKAGE}_second"


def declare_entry_point(folder, package):
    """A dist-info folder in ``folder`` declaring ``package``'s torch.backends entry point."""
    info = folder / f"{package}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[torch.backends]\n{package} = {package}:_autoload\n")
    return folder


def run_installed(path, code):
    """Run ``code`` with ``path`` as the import path and autoload on."""
    result = run_python(
        "-c",
        code,
        timeout=300,
        PYTHONPATH=os.pathsep.join(str(folder) for folder in path),
        TORCH_DEVICE_BACKEND_AUTOLOAD="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def both_installed(tmp_path_factory):
    """An import path on which this backend is found first, then a second one."""
    first = declare_entry_point(tmp_path_factory.mktemp("first-metadata"), PACKAGE)
    second = copy_checkout(tmp_path_factory.mktemp("second"), package=SECOND)
    declare_entry_point(second, SECOND)
    return [first, PROJECT_ROOT / "src", second, second / "src"]


@pytest.fixture(scope="module")
def import_torch(both_installed):
    """``import torch`` with both installed, then the second backend imported by name."""
    return run_installed(
        both_installed,
        "import sys, torch\n"
        f"print({PACKAGE!r} in sys.modules, {SECOND!r} in sys.modules)\n"
        f"print(torch.ones(2, device={DEVICE!r}).sum().item())\n"
        f"try:\n    import {SECOND}\n"
        "except ImportError as error:\n    print(type(error).__name__)\n",
    )


def test_import_torch_keeps_the_first_backend_when_a_second_is_installed(import_torch):
    loaded, works, _ = import_torch.stdout.splitlines()
    assert loaded == "True False"
    assert works == "2.0"


def test_import_torch_warns_in_one_line_naming_both_backends(import_torch):
    naming_both = [
        line
        for line in import_torch.stderr.splitlines()
        if f"{SECOND} (" in line and f"{PACKAGE} ({PROJECT_ROOT / 'src' / PACKAGE})" in line
    ]
    assert len(naming_both) == 1, import_torch.stderr


def test_second_backend_imported_by_name_after_autoload_raises_import_error(import_torch):
    assert import_torch.stdout.splitlines()[-1] == "DeviceSlotTakenError"


def test_package_imported_before_torch_is_autoloaded_once_and_works(tmp_path):
    # Importing the package imports torch, which autoloads the half-imported package.
    metadata = declare_entry_point(tmp_path, PACKAGE)
    result = run_installed(
        [metadata, PROJECT_ROOT / "src"],
        f"import {PACKAGE}, torch\nprint(torch.ones(2, device={DEVICE!r}).sum().item())\n",
    )
    assert result.stdout.strip() == "2.0"
