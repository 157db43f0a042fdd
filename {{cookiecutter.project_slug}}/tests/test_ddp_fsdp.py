"""Data-parallel training on the device, in two processes, each on its own device.

DistributedDataParallel and FSDP2 (fully_shard) must end with the parameters
that the same training gives in one process on the whole batches: each rank
trains on its half of every batch, and the gradients are averaged across
ranks by the collectives under test.
"""

import torch
from distributed_workers import (
    make_model,
    reference_parameters,
    run_workers,
    train_ddp,
    train_fsdp,
)


def assert_trained_as_in_one_process(results):
    expected = reference_parameters()
    for rank, parameters in enumerate(results):
        assert parameters.keys() == expected.keys(), rank
        for name, value in expected.items():
            torch.testing.assert_close(parameters[name], value, msg=f"rank {rank}, {name}")
    # Training moved the parameters: the comparison is not trivially true.
    untrained = torch.nn.utils.parameters_to_vector(make_model().parameters())
    trained = torch.cat([value.flatten() for value in expected.values()])
    assert not torch.allclose(untrained, trained)


def test_ddp_trains_as_one_process_does(tmp_path):
    assert_trained_as_in_one_process(run_workers(train_ddp, 2, (str(tmp_path / "store"),)))


def test_fsdp2_trains_as_one_process_does(tmp_path):
    assert_trained_as_in_one_process(run_workers(train_fsdp, 2, (str(tmp_path / "store"),)))
