"""Memory history: record_memory_history(), snapshot() and the out-of-memory observer.

The snapshot has the structure torch.cuda.memory._snapshot() returns, so the
snapshot viewer (pytorch.org/memory_viz) and torch.cuda._memory_viz read it.
"""

import pickle
import sys

import pytest
import torch
from torch.cuda import _memory_viz

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def history_off_afterwards():
    device_module.init()  # record_memory_history() does nothing before lazy init
    yield
    device_module.record_memory_history(None)
    torch.accelerator.synchronize(0)


def segment_at(snapshot: dict, address: int) -> dict:
    (segment,) = [s for s in snapshot["segments"] if s["address"] == address]
    return segment


def names(frames: list) -> list:
    return [frame["name"] for frame in frames]


def entries_for(snapshot: dict, address: int, device: int = 0) -> list:
    return [e for e in snapshot["device_traces"][device] if e.get("addr") == address]


def alloc_entry(tensor: torch.Tensor) -> dict:
    entries = entries_for(device_module.snapshot(), tensor.data_ptr())
    (alloc,) = [e for e in entries if e["action"] == "alloc"]
    return alloc


def test_the_snapshot_has_the_cuda_structure():
    device_module.record_memory_history("all")
    tensor = torch.empty(MiB, dtype=torch.uint8, device=DEVICE)
    snapshot = device_module.snapshot()
    assert set(snapshot) == {"segments", "device_traces"}
    assert len(snapshot["device_traces"]) == device_module.device_count()
    segment = segment_at(snapshot, tensor.data_ptr())
    assert segment["device"] == 0
    assert segment["total_size"] == segment["allocated_size"] == MiB
    assert segment["segment_type"] in ("small", "large")
    assert segment["stream"] == 0
    (block,) = segment["blocks"]
    assert block["address"] == tensor.data_ptr()
    assert block["size"] == block["requested_size"] == MiB
    assert block["state"] == "active_allocated"
    for frame in block["frames"]:
        assert set(frame) >= {"filename", "line", "name"}


def test_blocks_keep_the_python_stack_that_allocated_them():
    device_module.record_memory_history("all", "python")

    def allocate_weights():
        return torch.empty(4096, device=DEVICE)

    tensor = allocate_weights()
    frames = segment_at(device_module.snapshot(), tensor.data_ptr())["blocks"][0]["frames"]
    assert names(frames)[:2] == [
        "allocate_weights",
        "test_blocks_keep_the_python_stack_that_allocated_them",
    ]
    assert frames[0]["filename"] == __file__


def test_the_trace_records_allocations_and_frees_in_order():
    device_module.record_memory_history("all")
    tensor = torch.empty(3 * MiB, dtype=torch.uint8, device=DEVICE)
    address = tensor.data_ptr()
    del tensor
    entries = entries_for(device_module.snapshot(), address)
    assert [e["action"] for e in entries] == [
        "segment_alloc",
        "alloc",
        "free_requested",
        "free_completed",
        "segment_free",
    ]
    assert {e["size"] for e in entries} == {3 * MiB}
    times = [e["time_us"] for e in entries]
    assert times == sorted(times)
    assert "test_the_trace_records_allocations_and_frees_in_order" in names(entries[-1]["frames"])


def test_the_trace_names_the_current_stream():
    side = torch.Stream(device=f"{DEVICE}:0")
    device_module.record_memory_history("all")
    with side:
        tensor = torch.empty(256, device=DEVICE)
    assert alloc_entry(tensor)["stream"] == side.stream_id


def test_blocks_allocated_before_recording_are_listed_without_a_stack():
    early = torch.empty(512, device=DEVICE)
    device_module.record_memory_history("all")
    segment = segment_at(device_module.snapshot(), early.data_ptr())
    assert segment["blocks"][0]["frames"] == []


def test_a_snapshot_without_recording_lists_the_live_blocks():
    tensor = torch.empty(2048, device=DEVICE)
    snapshot = device_module.snapshot()
    assert segment_at(snapshot, tensor.data_ptr())["total_size"] == tensor.nbytes
    assert snapshot["device_traces"][0] == []


def test_state_keeps_stacks_but_no_trace():
    device_module.record_memory_history("state")
    tensor = torch.empty(1024, device=DEVICE)
    snapshot = device_module.snapshot()
    assert snapshot["device_traces"][0] == []
    frames = segment_at(snapshot, tensor.data_ptr())["frames"]
    assert "test_state_keeps_stacks_but_no_trace" in names(frames)


def test_stopping_forgets_the_trace_and_stops_stacks():
    device_module.record_memory_history("all")
    torch.empty(64, device=DEVICE)
    device_module.record_memory_history(None)
    later = torch.empty(64, device=DEVICE)
    snapshot = device_module.snapshot()
    assert snapshot["device_traces"][0] == []
    assert segment_at(snapshot, later.data_ptr())["frames"] == []


def test_max_entries_keeps_the_newest():
    device_module.record_memory_history("all", "python", 4)
    kept = [torch.empty(n + 1, device=DEVICE) for n in range(5)]
    trace = device_module.snapshot()["device_traces"][0]
    assert len(trace) == 4
    assert trace[-1]["addr"] == kept[-1].data_ptr()


def test_cpp_stacks():
    device_module.record_memory_history("all", "cpp")
    tensor = torch.empty(32, device=DEVICE)
    alloc = alloc_entry(tensor)
    assert alloc["frames"]  # C++ frames (names may be unresolved without debug info)
    assert not any(f["filename"] == __file__ for f in alloc["frames"])


@pytest.mark.parametrize(("enabled", "stacks"), [("everything", "python"), ("all", "java")])
def test_bad_arguments_are_refused(enabled, stacks):
    with pytest.raises(RuntimeError, match="record_memory_history"):
        device_module.record_memory_history(enabled, stacks)


def test_the_snapshot_viewer_tools_read_it(tmp_path):
    device_module.record_memory_history("all")
    kept = torch.empty(MiB, dtype=torch.uint8, device=DEVICE)
    freed = torch.empty(MiB // 2, dtype=torch.uint8, device=DEVICE)
    del freed
    snapshot = device_module.snapshot()
    assert "Device 0" in _memory_viz.trace(snapshot)
    assert "segments:" in _memory_viz.segsum(snapshot)
    assert "<html>" in _memory_viz.trace_plot(snapshot)
    assert "<html>" in _memory_viz.segment_plot(snapshot)
    path = tmp_path / "snapshot.pickle"
    path.write_bytes(pickle.dumps(snapshot))
    assert pickle.loads(path.read_bytes())["segments"] == snapshot["segments"]
    assert kept.is_contiguous()


def test_a_second_device_has_its_own_trace(other_device):
    device_module.record_memory_history("all")
    tensor = torch.empty(256, device=f"{DEVICE}:{other_device}")
    snapshot = device_module.snapshot()
    assert segment_at(snapshot, tensor.data_ptr())["device"] == other_device
    assert entries_for(snapshot, tensor.data_ptr(), other_device)
    assert not entries_for(snapshot, tensor.data_ptr(), 0)


class Observer:
    def __init__(self) -> None:
        self.calls = []
        self.raise_next = False

    def __call__(self, device, requested, allocated, free):
        self.calls.append((device, requested, allocated, free))
        if self.raise_next:
            self.raise_next = False
            raise ValueError("observer failed")


# Observers cannot be detached: one for the whole module.
observer = Observer()


@pytest.fixture(scope="module")
def attached_observer():
    device_module.attach_out_of_memory_observer(observer)
    return observer


def test_out_of_memory_calls_the_observer_and_is_traced(attached_observer):
    device_module.record_memory_history("all")
    attached_observer.calls.clear()
    held = device_module.memory_allocated(0)
    too_much = 1 << 50
    with pytest.raises(torch.OutOfMemoryError):
        torch.empty(too_much, dtype=torch.uint8, device=DEVICE)
    ((device, requested, allocated, free),) = attached_observer.calls
    assert (device, requested, allocated) == (0, too_much, held)
    assert 0 < free <= device_module.get_device_properties(0)["total_memory"]
    (oom,) = [e for e in device_module.snapshot()["device_traces"][0] if e["action"] == "oom"]
    assert oom["size"] == too_much
    assert oom["device_free"] == free
    assert "addr" not in oom


def test_an_observer_that_raises_leaves_the_out_of_memory_error(attached_observer, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    attached_observer.raise_next = True
    with pytest.raises(torch.OutOfMemoryError):
        torch.empty(1 << 50, dtype=torch.uint8, device=DEVICE)
    assert len(reported) == 1
    assert isinstance(reported[0].exc_value, ValueError)


def test_observers_must_be_callable():
    with pytest.raises((RuntimeError, TypeError)):
        device_module.attach_out_of_memory_observer(42)
