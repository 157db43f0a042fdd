"""The benchmark scripts keep working (their figures are not checked here).

They run whole scripts in fresh interpreters, all but one in several
processes: slow, though they compile nothing themselves.
"""

import pytest
from checkout_python import PROJECT_ROOT, run_python

pytestmark = pytest.mark.slow


def run_benchmark(script, *arguments):
    result = run_python(str(PROJECT_ROOT / "benchmarks" / script), *arguments, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# It sets the emulated device against the same glue on the driver skeleton: a
# measure of the emulator's own overhead.
@pytest.mark.emulator
def test_stream_event_benchmark_runs_and_reports_every_figure():
    output = run_benchmark(
        "bench_stream_event.py", "--rounds", "1", "--batches", "1", "--calls", "50"
    )
    for line in ("new stream", "stream.wait_event(event)", "geometric mean ratio", "worst ratio"):
        assert line in output


def test_copy_benchmark_runs_and_reports_every_figure():
    output = run_benchmark("bench_copy.py", "--mib", "1", "--repeats", "1")
    for line in ("host to device (copy_)", "device to host (copy_)", "host to host, CPU copy_"):
        assert line in output
    assert output.count("GB/s") == 3


# Two spawned ranks, all_reduce on device tensors next to CPU tensors with gloo.
def test_collectives_benchmark_runs_and_reports_every_figure():
    output = run_benchmark(
        "bench_collectives.py", "--mib", "1", "--iterations", "2", "--warmup", "1"
    )
    for line in ("device tensors", "CPU tensors", "ratio device/CPU", "bus bandwidth", "busbw"):
        assert line in output
    assert "target met" in output or "target missed" in output
