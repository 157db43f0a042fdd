"""Streams and graphs belong to one device.

A stream id made on one device is not a stream of another: torch lets
anyone build ``torch.Stream(stream_id=..., device_index=...)``, and the
backend refuses the pair rather than run work on a stream of the wrong
device. A graph replays on the device it was captured on, on that device's
current stream, whichever device is current.
"""

import pytest
import torch

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)


def moved_to(stream: torch.Stream, device: int) -> torch.Stream:
    return torch.Stream(
        stream_id=stream.stream_id, device_index=device, device_type=stream.device_type
    )


@pytest.mark.parametrize(
    "use",
    [
        pytest.param(lambda s, other: s.query(), id="query"),
        pytest.param(lambda s, other: s.synchronize(), id="synchronize"),
        pytest.param(lambda s, other: s.record_event(), id="record_event"),
        pytest.param(lambda s, other: s.wait_stream(other), id="wait_stream"),
        pytest.param(lambda s, other: backend.sleep(1, s), id="sleep"),
        pytest.param(lambda s, other: device_module.set_stream(s), id="set_stream"),
        pytest.param(lambda s, other: torch.accelerator.set_stream(s), id="accelerator.set_stream"),
        pytest.param(lambda s, other: device_module.stream(s).__enter__(), id="stream_context"),
    ],
)
def test_a_stream_id_of_one_device_is_refused_on_another(use, other_device):
    made_on_0 = torch.Stream(device=f"{DEVICE}:0")
    moved = moved_to(made_on_0, other_device)
    refusal = f"belongs to {DEVICE}:0, not to {DEVICE}:{other_device}"
    with pytest.raises(RuntimeError, match=refusal):
        use(moved, torch.Stream(device=f"{DEVICE}:{other_device}"))
    assert device_module.current_stream(other_device).stream_id == 0
    assert made_on_0.query()


def test_a_stream_id_of_another_device_does_not_run_work(other_device):
    made_on_other = torch.Stream(device=f"{DEVICE}:{other_device}")
    moved = moved_to(made_on_other, 0)
    refusal = f"belongs to {DEVICE}:{other_device}, not to {DEVICE}:0"
    with pytest.raises(RuntimeError, match=refusal):
        backend.sleep(60_000, moved)
    assert made_on_other.query() and device_module.default_stream(0).query()


@pytest.mark.skipif(
    _loader.torch_release(torch.__version__) < (2, 13), reason="device graphs are new in torch 2.13"
)
def test_a_graph_replays_on_its_capture_device_when_another_is_current(other_device):
    graph = getattr(device_module, f"{DEVICE.upper()}Graph")()
    with device_module.graph(graph, stream=torch.Stream(device=f"{DEVICE}:0")):
        backend.sleep(1000)  # long enough to be seen pending on a loaded machine
    replay_stream = torch.Stream(device=f"{DEVICE}:0")
    device_module.set_stream(replay_stream)
    device_module.set_device(other_device)
    graph.replay()
    assert not replay_stream.query()  # device 0's current stream got the work
    assert device_module.current_stream(other_device).query()
    assert device_module.default_stream(0).query()
    replay_stream.synchronize()
    assert replay_stream.query()
