"""MTIA graphs: work captured from a stream once and replayed (torch >= 2.13)."""

import pytest
import torch

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

TORCH_RELEASE = _loader.torch_release(torch.__version__)
pytestmark = pytest.mark.skipif(
    TORCH_RELEASE < (2, 13),
    reason="MTIA graphs are new in torch 2.13; test_torch_versions.py checks their absence",
)


def capture_busy_period(graph, stream, milliseconds):
    """Capture: start event, a busy period, end event. Returns the two events."""
    start = torch.Event(device="mtia:0", enable_timing=True)
    end = torch.Event(device="mtia:0", enable_timing=True)
    with torch.mtia.graph(graph, stream=stream):
        start.record()
        backend.sleep(milliseconds)
        end.record()
    return start, end


def test_captured_work_does_not_run_until_replayed():
    stream = torch.Stream(device="mtia:0")
    start, end = capture_busy_period(torch.mtia.MTIAGraph(), stream, 200)
    assert stream.query()  # the busy period was captured, not queued
    assert start.query() and end.query()  # nothing recorded yet
    with pytest.raises(RuntimeError, match="needs two recorded events that have completed"):
        start.elapsed_time(end)


def test_replay_runs_the_captured_work_each_time():
    graph = torch.mtia.MTIAGraph()
    start, end = capture_busy_period(graph, torch.Stream(device="mtia:0"), 60)
    for _ in range(2):
        graph.replay()
        end.synchronize()
        assert start.elapsed_time(end) >= 60


def test_replay_is_asynchronous_on_the_current_stream():
    graph = torch.mtia.MTIAGraph()
    _, end = capture_busy_period(graph, torch.Stream(device="mtia:0"), 150)
    replay_stream = torch.Stream(device="mtia:0")
    with torch.mtia.stream(replay_stream):
        graph.replay()
    assert not replay_stream.query()
    assert not end.query()
    replay_stream.synchronize()
    assert end.query()


def test_stream_reports_capturing_only_during_capture():
    stream = torch.Stream(device="mtia:0")
    graph = torch.mtia.MTIAGraph()
    with torch.mtia.graph(graph, stream=stream):
        assert stream.is_capturing()
        assert not torch.Stream(device="mtia:0").is_capturing()
    assert not stream.is_capturing()


def test_synchronizing_a_capturing_stream_is_refused():
    stream = torch.Stream(device="mtia:0")
    refused = pytest.raises(RuntimeError, match="is capturing a graph and cannot be synchronized")
    with refused, torch.mtia.graph(torch.mtia.MTIAGraph(), stream=stream):
        backend.sleep(10)
        stream.synchronize()
    assert not stream.is_capturing()  # leaving the block ended the capture
    assert stream.query()


def test_replay_without_a_capture_is_refused():
    with pytest.raises(RuntimeError, match="has no finished capture to replay"):
        torch.mtia.MTIAGraph().replay()


def test_kept_graph_must_be_instantiated_before_replay():
    graph = torch.mtia.MTIAGraph(keep_graph=True)
    _, end = capture_busy_period(graph, torch.Stream(device="mtia:0"), 10)
    with pytest.raises(RuntimeError, match="instantiate it first"):
        graph.replay()
    graph.instantiate()
    graph.replay()
    end.synchronize()


def test_reset_forgets_the_capture_and_allows_another():
    graph = torch.mtia.MTIAGraph()
    capture_busy_period(graph, torch.Stream(device="mtia:0"), 10)
    graph.reset()
    with pytest.raises(RuntimeError, match="has no finished capture"):
        graph.replay()
    start, end = capture_busy_period(graph, torch.Stream(device="mtia:0"), 40)
    graph.replay()
    end.synchronize()
    assert start.elapsed_time(end) >= 40


def test_capturing_twice_without_reset_is_refused():
    graph = torch.mtia.MTIAGraph()
    capture_busy_period(graph, torch.Stream(device="mtia:0"), 1)
    with pytest.raises(RuntimeError, match="already holds a capture"):
        graph.capture_begin((0, 0))


def test_graph_waits_on_events_recorded_outside_the_capture():
    producer = torch.Stream(device="mtia:0")
    ready = torch.Event(device="mtia:0")
    ready.record(producer)  # torch ignores waits on a never-recorded event
    graph = torch.mtia.MTIAGraph()
    done = torch.Event(device="mtia:0", enable_timing=True)
    with torch.mtia.graph(graph, stream=torch.Stream(device="mtia:0")):
        torch.mtia.current_stream().wait_event(ready)
        done.record()
    start = torch.Event(device="mtia:0", enable_timing=True)
    start.record(producer)
    backend.sleep(100, producer)
    ready.record(producer)  # the replay waits for this later record
    graph.replay()
    done.synchronize()
    assert start.elapsed_time(done) >= 100


def test_pool_handles_are_distinct_and_graphs_report_their_pool():
    first, second = torch.mtia.graph_pool_handle(), torch.mtia.graph_pool_handle()
    assert first != second
    graph = torch.mtia.MTIAGraph()
    with torch.mtia.graph(graph, pool=first, stream=torch.Stream(device="mtia:0")):
        pass
    assert graph.pool() == first


def test_replay_repeats_captured_copies_and_fills_on_current_inputs():
    source = torch.zeros(4, device="mtia:0")
    target = torch.zeros(4, device="mtia:0")
    graph = torch.mtia.MTIAGraph()
    with torch.mtia.graph(graph, stream=torch.Stream(device="mtia:0")):
        target.copy_(source)
        source.fill_(9)
    assert torch.equal(target.cpu(), torch.zeros(4))  # captured, not run
    source.copy_(torch.arange(4.0))
    graph.replay()
    assert torch.equal(target.cpu(), torch.arange(4.0))
    assert torch.equal(source.cpu(), torch.full((4,), 9.0))


def test_memory_used_by_a_graph_lives_as_long_as_the_graph():
    torch.mtia.init()
    before = torch.mtia.memory_allocated(0)
    graph = torch.mtia.MTIAGraph()
    scratch = torch.zeros(1024, device="mtia:0")
    with torch.mtia.graph(graph, stream=torch.Stream(device="mtia:0")):
        scratch.fill_(1)
    del scratch
    assert torch.mtia.memory_allocated(0) == before + 4096  # the graph still uses it
    graph.replay()
    torch.mtia.synchronize(0)
    graph.reset()
    assert torch.mtia.memory_allocated(0) == before
