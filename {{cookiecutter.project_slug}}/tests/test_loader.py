"""Building and loading the extension."""

import os
from pathlib import Path

import torch
from checkout_python import PROJECT_ROOT, run_python

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def load_in_subprocess() -> str:
    """Import the package in a fresh interpreter with a verbose build; return its output."""
    result = run_python("-c", f"import {backend.__name__}", **{_loader.VERBOSE_BUILD_VARIABLE: "1"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_import_registers_the_backend():
    assert getattr(torch._C, f"_{DEVICE}_isBuilt")()  # the slot is filled
    assert device_module.is_available()
    assert torch.accelerator.current_accelerator() == torch.device(DEVICE)


def test_runtime_and_torch_agree_on_device_count():
    assert backend.load().device_count() == device_module.device_count()


def test_load_is_idempotent():
    assert backend.load() is backend.load()


def test_build_output_stays_out_of_the_source_tree():
    extension_file = Path(backend.load().__file__)
    assert extension_file.name.startswith(_loader.EXTENSION_NAME)
    assert PROJECT_ROOT not in extension_file.parents
    built_here = [
        path
        for folder in ("csrc", "src")
        for path in (PROJECT_ROOT / folder).rglob("*")
        if path.suffix in {".o", ".so", ".ninja"}
    ]
    assert built_here == []


def test_build_goes_to_torch_extensions_dir_per_checkout_and_torch_release():
    extension_dir = Path(backend.load().__file__).parent
    assert extension_dir == _loader.build_directory()
    assert extension_dir.name.endswith(f"torch{torch.__version__}")
    assert extension_dir.parent.name == _loader.checkout_key()
    configured = os.environ.get("TORCH_EXTENSIONS_DIR")
    if configured:
        assert Path(configured) in extension_dir.parents
    else:
        assert "torch_extensions" in extension_dir.parts


def test_checkouts_in_other_folders_get_other_build_folders(monkeypatch):
    elsewhere = PROJECT_ROOT.parent / "elsewhere" / PROJECT_ROOT.name
    monkeypatch.setattr(_loader, "PROJECT_ROOT", elsewhere)
    assert _loader.build_directory() != Path(backend.load().__file__).parent


def test_second_load_rebuilds_nothing():
    assert "ninja: no work to do" in load_in_subprocess()


def test_changed_source_is_rebuilt_alone():
    changed, unchanged = _loader.sources()[0], _loader.sources()[-1]
    os.utime(changed)  # as an editor saving it would; the content stays
    output = load_in_subprocess()
    assert changed.name in output
    assert unchanged.name not in output
    assert f"{backend.__name__}: compiling 1 C++ file(s) into {_loader.build_directory()}" in output
