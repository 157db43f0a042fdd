"""torch.distributed's collectives on device tensors, in two processes.

Each collective runs on device tensors and, in the same processes, on CPU
tensors with gloo: the device's results must be the CPU's (see the README's
Distributed section for how they are staged through host memory).
"""

import pytest
from distributed_workers import (
    DEVICE,
    compare_collectives,
    no_backend_for_the_device,
    run_workers,
    stream_order,
)

import {{ cookiecutter.package_name }} as backend

# The three ways to create a process group that reach the device's tensors.
INIT_FORMS = {
    "no backend": None,
    "gloo": "gloo",
    "cpu:gloo,device:package": f"cpu:gloo,{DEVICE}:{backend._distributed.BACKEND}",
}

# Every c10d operator torch 2.9 to 2.15 defines for collectives is reached by one of these.
EXPECTED_CASES = {
    "all_reduce sum",
    "all_reduce_coalesced",
    "broadcast",
    "reduce",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_coalesced",
    "all_gather_into_tensor (coalesced)",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "reduce_scatter_tensor (coalesced)",
    "all_to_all",
    "all_to_all_single",
    "gather",
    "scatter",
    "send and recv",
    "isend and recv from any source",
    "barrier",
}


@pytest.mark.parametrize("form", list(INIT_FORMS))
def test_every_collective_gives_the_values_cpu_tensors_get(form, tmp_path):
    results = run_workers(compare_collectives, 2, (str(tmp_path / "store"), INIT_FORMS[form]))
    for rank, (checked, failures) in enumerate(results):
        assert set(checked) >= EXPECTED_CASES, EXPECTED_CASES - set(checked)
        assert not failures, f"rank {rank}:\n" + "\n".join(failures)


def test_a_group_without_a_backend_for_the_device_says_how_to_make_one(tmp_path):
    messages = run_workers(no_backend_for_the_device, 2, (str(tmp_path / "store"),))
    for message in messages:
        assert message is not None
        assert "no backend" in message and "README" in message, message


def test_collectives_are_ordered_on_the_current_stream(tmp_path):
    # Rank r fills its tensor with r + 1 behind a busy period: a collective
    # that did not wait for it would see zeros.
    for results in run_workers(stream_order, 2, (str(tmp_path / "store"),)):
        assert results["default stream"].tolist() == [30.0] * 4
        assert results["side stream, async_op"].tolist() == [4.0] * 4
        assert results["future"].tolist() == [1.0, 1.0, 2.0, 2.0]


@pytest.mark.emulator
def test_collectives_copy_through_the_host_when_device_memory_is_separate(tmp_path, monkeypatch):
    # The emulator's switch (tests/test_separate_memory.py): the glue then
    # copies instead of aliasing device memory.
    monkeypatch.setenv(backend._loader.PACKAGE.upper() + "_SEPARATE_MEMORY", "1")
    results = run_workers(compare_collectives, 2, (str(tmp_path / "store"), "gloo"))
    for rank, (checked, failures) in enumerate(results):
        assert set(checked) >= EXPECTED_CASES
        assert not failures, f"rank {rank}:\n" + "\n".join(failures)
