"""Devices: how many, which one is current, and what an invalid index does."""

import ast
import io
import re
import threading
import tokenize
from pathlib import Path

import pytest
import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def out_of_range_message(index: int) -> str:
    count = device_module.device_count()
    return re.escape(f"device index {index} is out of range: {count} {DEVICE} devices")


@pytest.mark.emulator  # a real device has as many as the hardware has
def test_device_count_matches_the_generated_answer(expected_device_count):
    assert device_module.device_count() == expected_device_count
    assert torch.accelerator.device_count() == expected_device_count


def test_device_is_available_and_the_current_accelerator():
    assert device_module.is_available()
    assert torch.accelerator.is_available()
    assert torch.accelerator.current_accelerator() == torch.device(DEVICE)


def test_current_device_starts_at_zero():
    assert device_module.current_device() == 0
    assert torch.accelerator.current_device_index() == 0


def test_set_device_changes_the_current_device(other_device):
    device_module.set_device(other_device)
    assert device_module.current_device() == other_device
    assert torch.accelerator.current_device_index() == other_device


def test_accelerator_set_device_index_changes_the_current_device(other_device):
    torch.accelerator.set_device_index(other_device)
    assert device_module.current_device() == other_device


def test_device_context_switches_and_restores(other_device):
    with device_module.device(torch.device(DEVICE, other_device)):
        assert device_module.current_device() == other_device
    assert device_module.current_device() == 0
    with device_module.device(torch.device(f"{DEVICE}:0")):
        assert device_module.current_device() == 0


def test_accelerator_device_index_context_switches_and_restores(other_device):
    with torch.accelerator.device_index(other_device):
        assert torch.accelerator.current_device_index() == other_device
    assert torch.accelerator.current_device_index() == 0


def test_current_device_is_per_thread(other_device):
    seen_in_thread = []

    def use_other_device():
        seen_in_thread.append(device_module.current_device())
        device_module.set_device(other_device)
        seen_in_thread.append(device_module.current_device())

    thread = threading.Thread(target=use_other_device)
    thread.start()
    thread.join()
    assert seen_in_thread == [0, other_device]
    assert device_module.current_device() == 0


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda i: torch.Stream(device=f"{DEVICE}:{i}"), id="torch.Stream"),
        pytest.param(lambda i: device_module.set_device(i), id=f"{DEVICE}.set_device"),
        pytest.param(lambda i: device_module.current_stream(i), id=f"{DEVICE}.current_stream"),
        pytest.param(lambda i: device_module.default_stream(i), id=f"{DEVICE}.default_stream"),
        pytest.param(lambda i: device_module.synchronize(i), id=f"{DEVICE}.synchronize"),
        pytest.param(lambda i: device_module.device(i).__enter__(), id=f"{DEVICE}.device"),
        pytest.param(
            lambda i: torch.accelerator.set_device_index(i), id="accelerator.set_device_index"
        ),
        pytest.param(
            lambda i: torch.accelerator.current_stream(i), id="accelerator.current_stream"
        ),
        pytest.param(lambda i: torch.accelerator.synchronize(i), id="accelerator.synchronize"),
        pytest.param(
            lambda i: torch.accelerator.device_index(i).__enter__(),
            id="accelerator.device_index",
        ),
        pytest.param(lambda i: torch.Generator(device=f"{DEVICE}:{i}"), id="torch.Generator"),
    ],
)
@pytest.mark.parametrize("offset", [0, 5], ids=["first-past-end", "far-past-end"])
def test_out_of_range_index_raises_and_names_index_and_count(call, offset, out_of_range_index):
    index = out_of_range_index + offset
    with pytest.raises(RuntimeError, match=out_of_range_message(index)):
        call(index)
    # Nothing changed: the thread is still on device 0 with its default stream.
    assert device_module.current_device() == 0
    assert device_module.current_stream(0).stream_id == 0


def docstring_starts(source: str) -> set:
    """Where the docstrings of a module and of its classes and functions start."""
    starts = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                starts.add((first.lineno, first.col_offset))
    return starts


def test_tests_take_the_device_type_from_the_package():
    # The device type is written in one place, the package's DEVICE_TYPE: the
    # tests' names, strings (subprocess scripts too) and comments do not spell
    # it out; docstrings may, as prose about torch's API. The package's own
    # name may hold the word too: it is an answer of its own.
    literals = []
    for path in sorted(Path(__file__).parent.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        docstrings = docstring_starts(source)
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.start in docstrings:
                continue
            for offset, line in enumerate(token.string.splitlines()):
                if DEVICE in line.replace(backend.__name__, ""):
                    literals.append(f"{path.name}:{token.start[0] + offset}: {line.strip()}")
    assert literals == [], "\n".join(literals)
