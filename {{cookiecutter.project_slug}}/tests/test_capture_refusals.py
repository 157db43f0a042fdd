"""Work a graph cannot capture is refused, and the refusal ends the capture.

Inside ``torch.{{ cookiecutter.device_type }}.graph(g)``, an operator that runs on the host
(``x + 1``: the emulator computes it on the host, which a replay could not
repeat) and a copy to pageable host memory (``x.cpu()``) are refused with a
clear error. The capture is then invalidated: ending it raises, and
``g.replay()`` raises instead of replaying a half-captured graph (which once
crashed the interpreter with a segmentation fault). The checks run in a
fresh interpreter, so that a crash shows as its exit status.
"""

import json

import pytest
import torch
from checkout_python import run_python

from {{ cookiecutter.package_name }} import _loader

pytestmark = pytest.mark.skipif(
    _loader.torch_release(torch.__version__) < (2, 13),
    reason="device graphs are new in torch 2.13",
)

# Each op (a Python expression over x), and what its refusal says.
OPS = {
    "x + 1": "runs on the host, which a graph cannot capture",
    "x.cpu()": "cannot be given a copy from or to pageable host memory",
}

# For each op: runs it inside a capture, catching its error, then ends the
# capture and replays the graph. Prints what each step raised, as one JSON
# object.
SCRIPT = """
import json, sys
import torch
import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
DeviceGraph = getattr(device_module, f"{DEVICE.upper()}Graph")

x = torch.ones(4, device=DEVICE)
report = {}
for op in sys.argv[1:]:
    graph = DeviceGraph()
    raised = report[op] = {"op": None, "end": None, "replay": None, "uncaught": None}
    try:
        with device_module.graph(graph):
            try:
                eval(op)
            except RuntimeError as error:
                raised["op"] = str(error)
    except RuntimeError as error:
        raised["end"] = str(error)
    raised["capturing_after"] = device_module.current_stream().is_capturing()
    try:
        graph.replay()
    except RuntimeError as error:
        raised["replay"] = str(error)
    # Not caught inside the block: what reaches the user names the refusal.
    try:
        with device_module.graph(DeviceGraph()):
            eval(op)
    except RuntimeError as error:
        raised["uncaught"] = str(error)
        # Ending the capture on the way out raised too: the traceback shows both.
        raised["uncaught_cause"] = str(error.__context__)
    device_module.synchronize()
    raised["after"] = (x + 1).cpu().tolist()
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def report():
    result = run_python("-c", SCRIPT, *OPS, timeout=180)
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stderr}"
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "op",
    [
        # A real device runs x + 1 as a kernel, which a graph captures.
        pytest.param("x + 1", marks=pytest.mark.emulator),
        "x.cpu()",
    ],
)
def test_a_refused_op_invalidates_the_capture_and_replay_raises(report, op):
    raised, refusal = report[op], OPS[op]
    assert refusal in raised["op"]
    assert "is capturing a graph" in raised["op"]
    assert "was invalidated during capture" in raised["end"]
    assert raised["capturing_after"] is False
    assert "has no finished capture to replay" in raised["replay"]
    assert "was invalidated during capture" in raised["uncaught"]
    assert refusal in raised["uncaught_cause"]
    assert raised["after"] == [2.0, 2.0, 2.0, 2.0]  # the device still works
