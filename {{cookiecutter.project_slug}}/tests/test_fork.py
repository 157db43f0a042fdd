"""A process forked after its parent used the device refuses the device.

The emulator's worker threads do not exist in a forked child, so, as CUDA
does, the child raises a RuntimeError that points to the 'spawn' start
method instead of waiting forever for them. A child forked before any use
(the package only imported, as torch's autoload does) uses the device
normally. The forks happen in a fresh interpreter, which kills a child that
hangs (and is itself run with a timeout).
"""

import json

import pytest
from checkout_python import run_python

# Forks with each method, first before the parent used the device (the child
# makes a tensor), then after (the child makes one, or uses the parent's).
# Prints one JSON object: for each case, what the child got or raised and its
# exit status; and the parent's own result at the end.
SCRIPT = """
import json, multiprocessing, os, time
import torch
import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
x = None


def in_child(child_tensor):
    try:
        tensor = x if child_tensor == "inherited" else torch.ones(4, device=DEVICE)
        return {"result": (tensor + 1).cpu().tolist()}
    except RuntimeError as error:
        return {"error": str(error)}


def with_os_fork(child_tensor):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        with os.fdopen(write, "w") as pipe:
            pipe.write(json.dumps(in_child(child_tensor)))
        os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return {"status": "hung"}
        time.sleep(0.01)
    with os.fdopen(read) as pipe:
        return {**json.loads(pipe.read() or "{}"), "status": os.waitstatus_to_exitcode(status)}


def send_from_child(connection, child_tensor):
    connection.send(in_child(child_tensor))


def with_multiprocessing_fork(child_tensor):
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=send_from_child, args=(sending, child_tensor))
    process.start()
    child = receiving.recv() if receiving.poll(60) else {}
    process.join(10)
    if process.is_alive():
        process.kill()
        process.join()
        return {**child, "status": "hung"}
    return {**child, "status": process.exitcode}


forks = {"os": with_os_fork, "multiprocessing": with_multiprocessing_fork}
report = {}
for how, fork in forks.items():
    report[f"unused-{how}-new"] = fork("new")
x = torch.ones(4, device=DEVICE)
for how, fork in forks.items():
    for child_tensor in ("new", "inherited"):
        report[f"used-{how}-{child_tensor}"] = fork(child_tensor)
report["parent"] = (x + 1).cpu().tolist()
print(json.dumps(report))
"""

TWOS = [2.0, 2.0, 2.0, 2.0]


@pytest.fixture(scope="module")
def report():
    result = run_python("-c", SCRIPT, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("how", ["os", "multiprocessing"])
@pytest.mark.parametrize("child_tensor", ["new", "inherited"])
def test_a_child_forked_after_use_raises_naming_spawn(report, how, child_tensor):
    child = report[f"used-{how}-{child_tensor}"]
    assert child["status"] == 0, child  # neither hung nor crashed
    assert "result" not in child, child
    assert "'spawn'" in child["error"], child


@pytest.mark.parametrize("how", ["os", "multiprocessing"])
def test_a_child_forked_before_any_use_uses_the_device(report, how):
    assert report[f"unused-{how}-new"] == {"result": TWOS, "status": 0}


def test_the_parent_goes_on_using_the_device(report):
    assert report["parent"] == TWOS
