"""The torch releases the backend supports, and what each one adds."""

import pytest
import torch
from checkout_python import run_python

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

TORCH_RELEASE = _loader.torch_release(torch.__version__)
HAS_2_13_API = TORCH_RELEASE >= (2, 13)


def test_running_torch_is_a_supported_release():
    assert TORCH_RELEASE in _loader.SUPPORTED_TORCH


@pytest.mark.parametrize("version", ["2.9.1", "2.9.1+cu128", "2.13.0+cpu", "2.14.1"])
def test_supported_releases_pass_the_check(version):
    _loader.check_torch_version(version)


@pytest.mark.parametrize("version", ["2.8.0", "2.11.0+cpu", "2.15.0", "3.0.0", "1.13.1"])
def test_other_releases_are_refused_with_a_clear_error(version, monkeypatch):
    monkeypatch.delenv(_loader.ALLOW_UNTESTED_TORCH_VARIABLE, raising=False)
    with pytest.raises(_loader.UnsupportedTorchError) as refusal:
        _loader.check_torch_version(version)
    message = str(refusal.value)
    assert f"this is torch {version}" in message
    assert "supports torch 2.9, 2.13, 2.14" in message
    assert _loader.ALLOW_UNTESTED_TORCH_VARIABLE in message


def test_untested_release_can_be_allowed_explicitly(monkeypatch):
    monkeypatch.setenv(_loader.ALLOW_UNTESTED_TORCH_VARIABLE, "1")
    _loader.check_torch_version("2.11.0")


def test_unreadable_version_is_refused():
    with pytest.raises(_loader.UnsupportedTorchError, match="cannot read the torch version"):
        _loader.check_torch_version("nightly")


def test_unsupported_torch_fails_at_import_before_any_compiler_runs(tmp_path):
    code = f"import torch\ntorch.__version__ = '2.8.0'\nimport {backend.__name__}\n"
    # An empty extension cache: a build would start there.
    result = run_python("-c", code, TORCH_EXTENSIONS_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "UnsupportedTorchError" in result.stderr
    assert "this is torch 2.8.0" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing was built


def test_device_capability_from_2_13_absent_before(supported_dtypes):
    if HAS_2_13_API:
        capability = torch.accelerator.get_device_capability("mtia:0")
        assert capability["supported_dtypes"] == supported_dtypes
    else:  # torch 2.9 has no such API: a clear error, no crash
        with pytest.raises(AttributeError):
            torch.accelerator.get_device_capability("mtia:0")


def test_stream_native_handle_from_2_13_absent_before():
    stream = torch.Stream(device="mtia:0")
    if HAS_2_13_API:
        assert stream.native_handle == stream.stream_id
        assert torch.mtia.default_stream(0).native_handle == 0
    else:
        with pytest.raises(AttributeError):
            _ = stream.native_handle


def test_stream_is_capturing_from_2_13_absent_before():
    stream = torch.Stream(device="mtia:0")
    if HAS_2_13_API:
        assert stream.is_capturing() is False
    else:
        with pytest.raises(AttributeError):
            stream.is_capturing()


def test_mtia_graphs_from_2_13_absent_before():
    if HAS_2_13_API:
        assert isinstance(torch.mtia.MTIAGraph(), torch._C._MTIAGraph)  # see test_graphs.py
    else:
        with pytest.raises(AttributeError):
            torch.mtia.MTIAGraph()
