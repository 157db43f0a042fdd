"""The testing module: torch's device-generic tests get {{ cookiecutter.device_type | upper }} variants, run on the device."""

import io
import textwrap
import unittest

import torch
from checkout_python import PROJECT_ROOT, run_python
from torch.testing._internal import common_device_type
from torch.testing._internal.common_device_type import (
    deviceCountAtLeast,
    dtypes,
    instantiate_device_type_tests,
    ops,
)
from torch.testing._internal.common_methods_invocations import op_db
from torch.testing._internal.common_utils import TestCase

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import testing

DEVICE = backend.DEVICE_TYPE
# The suffix instantiate_device_type_tests gives the device's classes: TestFoo<SUFFIX>.
SUFFIX = DEVICE.upper()

# A test file written as PyTorch's own are, run by the entry points the module documents.
TORCH_STYLE_TEST_FILE = textwrap.dedent(
    """
    import torch
    from torch.testing._internal.common_device_type import instantiate_device_type_tests
    from torch.testing._internal.common_utils import TestCase, run_tests


    class TestTorchStyle(TestCase):
        def test_sum(self, device):
            x = torch.arange(4.0, device=device)
            self.assertEqual(x.device.type, torch.device(device).type)
            self.assertEqual(x.sum().item(), 6.0)


    instantiate_device_type_tests(TestTorchStyle, globals())

    if __name__ == "__main__":
        run_tests()
    """
)


def instantiate(generic_class, **kwargs) -> dict:
    """instantiate_device_type_tests into a fresh scope; return the scope."""
    scope = {generic_class.__name__: generic_class}
    instantiate_device_type_tests(generic_class, scope, **kwargs)
    return scope


def run(test_class) -> unittest.TestResult:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(test_class)
    return unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)


def test_instantiating_makes_a_device_class_whose_tests_run_on_the_device():
    seen = []

    class TestRecordsDevice(TestCase):
        def test_device(self, device):
            seen.append((device, torch.ones(2, device=device).device))

    scope = instantiate(TestRecordsDevice)
    assert {"TestRecordsDeviceCPU", f"TestRecordsDevice{SUFFIX}"} <= set(scope)
    device_class = scope[f"TestRecordsDevice{SUFFIX}"]
    assert issubclass(device_class, testing.register())
    result = run(device_class)
    assert result.wasSuccessful() and result.testsRun == 1
    assert seen == [(f"{DEVICE}:0", torch.device(DEVICE, 0))]


def test_a_failing_generic_test_fails_in_the_device_class():
    class TestExpectsHost(TestCase):
        def test_is_host(self, device):
            self.assertEqual(torch.zeros(1, device=device).device.type, "cpu")

    scope = instantiate(TestExpectsHost)
    assert run(scope["TestExpectsHostCPU"]).wasSuccessful()
    result = run(scope[f"TestExpectsHost{SUFFIX}"])
    assert len(result.failures) == 1 and DEVICE in result.failures[0][1]


def test_dtypes_and_ops_parametrize_the_device_class():
    class TestParametrized(TestCase):
        @dtypes(torch.float32, torch.int64)
        def test_add(self, device, dtype):
            x = torch.ones(3, device=device, dtype=dtype)
            self.assertEqual((x + x).cpu(), torch.full((3,), 2, dtype=dtype))

        @ops([op for op in op_db if op.name == "abs"], dtypes=[torch.float32])
        def test_op(self, device, dtype, op):
            for sample in op.sample_inputs(device, dtype):
                result = op(sample.input, *sample.args, **sample.kwargs)
                self.assertEqual(result.cpu(), op(sample.input.cpu()))

    device_class = instantiate(TestParametrized, only_for=DEVICE)[f"TestParametrized{SUFFIX}"]
    names = set(unittest.defaultTestLoader.getTestCaseNames(device_class))
    assert names == {
        f"test_add_{DEVICE}_float32",
        f"test_add_{DEVICE}_int64",
        f"test_op_abs_{DEVICE}_float32",
    }
    result = run(device_class)
    assert result.wasSuccessful() and result.testsRun == 3


def test_multi_device_tests_get_every_device_primary_first(expected_device_count):
    seen = []

    class TestDevices(TestCase):
        @deviceCountAtLeast(1)
        def test_devices(self, devices):
            seen.append(devices)

    scope = instantiate(TestDevices, only_for=DEVICE)
    assert run(scope[f"TestDevices{SUFFIX}"]).wasSuccessful()
    assert seen == [[f"{DEVICE}:{index}" for index in range(expected_device_count)]]


def test_environment_can_restrict_instantiation_to_the_device(monkeypatch):
    class TestOnlyDevice(TestCase):
        def test_nothing(self, device):
            pass

    monkeypatch.setenv("PYTORCH_TESTING_DEVICE_ONLY_FOR", DEVICE)
    scope = instantiate(TestOnlyDevice)
    instantiated = [name for name in scope if name.startswith("TestOnlyDevice")]
    assert instantiated == [f"TestOnlyDevice{SUFFIX}"]


def test_registering_again_keeps_one_device_base():
    base = testing.register()
    assert testing.register() is base and base.device_type == DEVICE
    bases = common_device_type.device_type_test_bases
    assert [base.device_type for base in bases].count(DEVICE) == 1


def run_torch_style_file(tmp_path, arguments: list[str], **environment: str) -> None:
    """Run TORCH_STYLE_TEST_FILE with ``python ARGUMENTS FILE``; its device test must pass."""
    test_file = tmp_path / "test_torch_style.py"
    test_file.write_text(TORCH_STYLE_TEST_FILE, encoding="utf-8")
    # A pytest run of the file stands alone, as in a user's own project: its
    # own (empty) settings, not those of a folder above tmp_path (a tox.ini when
    # the tox env lives inside a checkout), nor this session's PYTEST_ADDOPTS.
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    completed = run_python(
        *arguments,
        str(test_file),
        "-v",
        PYTORCH_TESTING_DEVICE_ONLY_FOR=DEVICE,
        PYTEST_ADDOPTS="",
        **environment,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert f"test_sum_{DEVICE}" in output and "test_sum_cpu" not in output, output


def test_module_runs_a_torch_test_file_on_the_device(tmp_path):
    run_torch_style_file(tmp_path, ["-m", "{{ cookiecutter.package_name }}.testing"])


def test_torch_test_devices_variable_adds_the_base(tmp_path):
    module = PROJECT_ROOT / "src" / "{{ cookiecutter.package_name }}" / "testing.py"
    run_torch_style_file(tmp_path, [], TORCH_TEST_DEVICES=str(module))


def test_pytest_plugin_option_adds_the_base(tmp_path):
    plugin = ["-p", "{{ cookiecutter.package_name }}.testing", "-p", "no:cacheprovider"]
    run_torch_style_file(tmp_path, ["-m", "pytest", *plugin])
