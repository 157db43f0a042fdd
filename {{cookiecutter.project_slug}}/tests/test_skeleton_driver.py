"""The glue builds and loads against the driver skeleton, as a port starts.

The README promises that a port replaces the driver (csrc/emulator/, or the
skeleton in csrc/skeleton/ it starts from) and keeps csrc/backend/: the glue
uses nothing but csrc/driver/driver.h. This imports the package with the
skeleton as its driver (the glue's objects, compiled against that header
alone, linked with it), in a process of its own (one backend per process),
and checks what a driver that does nothing gives: devices, streams and
events work, and each call that needs more names the driver function to write.
"""

import textwrap

from checkout_python import run_python

from {{ cookiecutter.package_name }} import _loader

SCRIPT = textwrap.dedent(
    f"""
    import torch
    import {_loader.PACKAGE} as backend

    device = torch.get_device_module(backend.DEVICE_TYPE)
    print("driver", backend._loader.DRIVER, backend.load().__file__.endswith("_skeleton_C.so"))
    print("devices", device.device_count())
    stream = torch.Stream(device=backend.DEVICE_TYPE + ":0")
    event = stream.record_event()
    stream.wait_event(event)
    event.synchronize()
    print("stream and event", stream.query(), event.query())
    device.synchronize()
    for name, call in [
        ("memory", lambda: torch.ones(2, device=backend.DEVICE_TYPE)),
        ("sleep", lambda: backend.sleep(1)),
        ("capacity", lambda: backend.set_memory_capacity(2**20)),
    ]:
        try:
            call()
        except NotImplementedError as error:
            print(name + ":", str(error).splitlines()[0])
    """
)


def test_the_package_loads_on_the_driver_skeleton_and_names_what_to_write(expected_device_count):
    result = run_python("-c", SCRIPT, timeout=600, **{_loader.DRIVER_VARIABLE: "skeleton"})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "driver skeleton True" in lines
    assert f"devices {expected_device_count}" in lines
    assert "stream and event True True" in lines
    reported = dict(line.split(": ", 1) for line in lines if ": " in line)
    assert "skeleton driver does not implement malloc" in reported["memory"]
    assert "csrc/skeleton/driver.cpp" in reported["memory"]
    assert "does not implement launch_sleep_kernel" in reported["sleep"]
    assert "has no settable memory capacity" in reported["capacity"]


def test_an_unknown_driver_is_refused_naming_the_folder():
    result = run_python("-c", f"import {_loader.PACKAGE}", **{_loader.DRIVER_VARIABLE: "nowhere"})
    assert result.returncode != 0
    assert "no C++ sources of the driver 'nowhere'" in result.stderr


def test_a_driver_that_is_not_a_folder_name_is_refused_before_anything_is_built():
    for driver in ("../emulator", "emulator/../emulator", "/etc"):
        result = run_python("-c", f"import {_loader.PACKAGE}", **{_loader.DRIVER_VARIABLE: driver})
        assert result.returncode != 0
        assert f"names a folder of {_loader.CSRC} (letters, digits and _), got {driver!r}" in (
            result.stderr
        )


def test_the_glue_includes_nothing_of_the_emulator():
    for source in sorted((_loader.CSRC / "backend").iterdir()):
        text = source.read_text(encoding="utf-8")
        assert '#include "emulator/' not in text, f"{source.name} reaches into the emulator"
