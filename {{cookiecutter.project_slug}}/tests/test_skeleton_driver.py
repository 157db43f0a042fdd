"""The glue builds and loads against the driver skeleton, as a port starts.

The README promises that a port replaces the driver (csrc/emulator/, or the
skeleton in csrc/skeleton/ it starts from) and keeps csrc/backend/: the glue
uses nothing but csrc/driver/driver.h. This builds csrc/backend/ with the
skeleton, in a process of its own (one backend per process), and checks what
a driver that does nothing gives: devices, streams and events work, and the
first call that needs memory names the driver function to write.
"""

import textwrap

from checkout_python import PROJECT_ROOT, run_python

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

DEVICE = backend.DEVICE_TYPE

SCRIPT = textwrap.dedent(
    f"""
    import importlib.util
    import torch

    spec = importlib.util.spec_from_file_location(
        "skeleton_loader", {str(PROJECT_ROOT / "src" / _loader.PACKAGE / "_loader.py")!r}
    )
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    loader.build_with_driver("skeleton")

    device = torch.get_device_module({DEVICE!r})
    print("devices", device.device_count())
    stream = torch.Stream(device=f"{DEVICE}:0")
    event = stream.record_event()
    stream.wait_event(event)
    event.synchronize()
    print("stream and event", stream.query(), event.query())
    device.synchronize()
    try:
        torch.ones(2, device={DEVICE!r})
    except NotImplementedError as error:
        print("memory:", str(error).splitlines()[0])
    """
)


def test_the_glue_builds_and_runs_against_the_driver_skeleton(expected_device_count):
    result = run_python("-c", SCRIPT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert f"devices {expected_device_count}" in lines
    assert "stream and event True True" in lines
    memory = [line for line in lines if line.startswith("memory:")]
    assert memory, result.stdout
    assert "skeleton driver does not implement malloc" in memory[0]
    assert "csrc/skeleton/driver.cpp" in memory[0]


def test_the_glue_includes_nothing_of_the_emulator():
    for source in sorted((_loader.CSRC / "backend").iterdir()):
        text = source.read_text(encoding="utf-8")
        assert '#include "emulator/' not in text, f"{source.name} reaches into the emulator"
