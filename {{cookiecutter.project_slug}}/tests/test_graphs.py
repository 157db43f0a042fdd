"""Device graphs (torch.cuda.CUDAGraph's counterpart): work captured from a
stream once and replayed (torch >= 2.13)."""

import pytest
import torch

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
# The device module's graph class, as CUDAGraph is torch.cuda's; None before torch 2.13.
DeviceGraph = getattr(device_module, f"{DEVICE.upper()}Graph", None)

TORCH_RELEASE = _loader.torch_release(torch.__version__)
pytestmark = pytest.mark.skipif(
    TORCH_RELEASE < (2, 13),
    reason="device graphs are new in torch 2.13; test_torch_versions.py checks their absence",
)


def capture_busy_period(graph, stream, milliseconds):
    """Capture: start event, a busy period, end event. Returns the two events."""
    start = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    end = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    with device_module.graph(graph, stream=stream):
        start.record()
        backend.sleep(milliseconds)
        end.record()
    return start, end


def test_captured_work_does_not_run_until_replayed():
    stream = torch.Stream(device=f"{DEVICE}:0")
    start, end = capture_busy_period(DeviceGraph(), stream, 200)
    assert stream.query()  # the busy period was captured, not queued
    assert start.query() and end.query()  # nothing recorded yet
    with pytest.raises(RuntimeError, match="needs two recorded events that have completed"):
        start.elapsed_time(end)


def test_replay_runs_the_captured_work_each_time():
    graph = DeviceGraph()
    start, end = capture_busy_period(graph, torch.Stream(device=f"{DEVICE}:0"), 60)
    for _ in range(2):
        graph.replay()
        end.synchronize()
        assert start.elapsed_time(end) >= 60


def test_replay_is_asynchronous_on_the_current_stream():
    graph = DeviceGraph()
    _, end = capture_busy_period(graph, torch.Stream(device=f"{DEVICE}:0"), 150)
    replay_stream = torch.Stream(device=f"{DEVICE}:0")
    with device_module.stream(replay_stream):
        graph.replay()
    assert not replay_stream.query()
    assert not end.query()
    replay_stream.synchronize()
    assert end.query()


def test_stream_reports_capturing_only_during_capture():
    stream = torch.Stream(device=f"{DEVICE}:0")
    graph = DeviceGraph()
    with device_module.graph(graph, stream=stream):
        assert stream.is_capturing()
        assert not torch.Stream(device=f"{DEVICE}:0").is_capturing()
    assert not stream.is_capturing()


def test_synchronizing_a_capturing_stream_is_refused():
    stream = torch.Stream(device=f"{DEVICE}:0")
    refused = pytest.raises(RuntimeError, match="is capturing a graph and cannot be synchronized")
    with refused, device_module.graph(DeviceGraph(), stream=stream):
        backend.sleep(10)
        stream.synchronize()
    assert not stream.is_capturing()  # leaving the block ended the capture
    assert stream.query()


def test_replay_without_a_capture_is_refused():
    with pytest.raises(RuntimeError, match="has no finished capture to replay"):
        DeviceGraph().replay()


def test_kept_graph_must_be_instantiated_before_replay():
    graph = DeviceGraph(keep_graph=True)
    _, end = capture_busy_period(graph, torch.Stream(device=f"{DEVICE}:0"), 10)
    with pytest.raises(RuntimeError, match="instantiate it first"):
        graph.replay()
    graph.instantiate()
    graph.replay()
    end.synchronize()


def test_reset_forgets_the_capture_and_allows_another():
    graph = DeviceGraph()
    capture_busy_period(graph, torch.Stream(device=f"{DEVICE}:0"), 10)
    graph.reset()
    with pytest.raises(RuntimeError, match="has no finished capture"):
        graph.replay()
    start, end = capture_busy_period(graph, torch.Stream(device=f"{DEVICE}:0"), 40)
    graph.replay()
    end.synchronize()
    assert start.elapsed_time(end) >= 40


def test_capturing_twice_without_reset_is_refused():
    graph = DeviceGraph()
    capture_busy_period(graph, torch.Stream(device=f"{DEVICE}:0"), 1)
    with pytest.raises(RuntimeError, match="already holds a capture"):
        graph.capture_begin((0, 0))


def test_graph_waits_on_events_recorded_outside_the_capture():
    producer = torch.Stream(device=f"{DEVICE}:0")
    ready = torch.Event(device=f"{DEVICE}:0")
    ready.record(producer)  # torch ignores waits on a never-recorded event
    graph = DeviceGraph()
    done = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    with device_module.graph(graph, stream=torch.Stream(device=f"{DEVICE}:0")):
        device_module.current_stream().wait_event(ready)
        done.record()
    start = torch.Event(device=f"{DEVICE}:0", enable_timing=True)
    start.record(producer)
    backend.sleep(100, producer)
    ready.record(producer)  # the replay waits for this later record
    graph.replay()
    done.synchronize()
    assert start.elapsed_time(done) >= 100


def test_pool_handles_are_distinct_and_graphs_report_their_pool():
    first, second = device_module.graph_pool_handle(), device_module.graph_pool_handle()
    assert first != second
    graph = DeviceGraph()
    with device_module.graph(graph, pool=first, stream=torch.Stream(device=f"{DEVICE}:0")):
        pass
    assert graph.pool() == first


def test_replay_repeats_captured_copies_and_fills_on_current_inputs():
    source = torch.zeros(4, device=f"{DEVICE}:0")
    target = torch.zeros(4, device=f"{DEVICE}:0")
    graph = DeviceGraph()
    with device_module.graph(graph, stream=torch.Stream(device=f"{DEVICE}:0")):
        target.copy_(source)
        source.fill_(9)
    assert torch.equal(target.cpu(), torch.zeros(4))  # captured, not run
    source.copy_(torch.arange(4.0))
    graph.replay()
    assert torch.equal(target.cpu(), torch.arange(4.0))
    assert torch.equal(source.cpu(), torch.full((4,), 9.0))


def test_memory_used_by_a_graph_lives_as_long_as_the_graph():
    device_module.init()
    device_module.synchronize(0)
    free_before = device_module.memory_stats(0)["dram"]["free_bytes"]
    graph = DeviceGraph()
    scratch = torch.zeros(1024, device=f"{DEVICE}:0")
    with device_module.graph(graph, stream=torch.Stream(device=f"{DEVICE}:0")):
        scratch.fill_(1)
    del scratch
    # torch holds the tensor no more; the device keeps its memory for the graph.
    assert device_module.memory_stats(0)["dram"]["free_bytes"] == free_before - 4096
    graph.replay()
    device_module.synchronize(0)
    graph.reset()
    assert device_module.memory_stats(0)["dram"]["free_bytes"] == free_before
