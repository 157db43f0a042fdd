"""Train a small model with DistributedDataParallel on the {{ cookiecutter.device_type }} device.

On one machine, two processes (each on its own device):

    torchrun --standalone --nproc-per-node 2 examples/train_ddp.py

In one process, without DDP (the same training, for comparison):

    python examples/train_ddp.py

Across machines: run the same command on every machine, naming one of them
(HOST, any free PORT on it) as the meeting point; torchrun gives each
process its rank:

    torchrun --nnodes 2 --nproc-per-node 2 --rdzv-backend c10d \\
        --rdzv-endpoint HOST:PORT --rdzv-id my-job examples/train_ddp.py

Each process uses the device of its local rank. ``init_process_group()``
needs no backend: importing {{ cookiecutter.package_name }} maps the device to gloo (see the
README's Distributed section). The processes learn everything else from
torchrun's environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT).
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import {{ cookiecutter.package_name }}

DEVICE = {{ cookiecutter.package_name }}.DEVICE_TYPE


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    )


def batch(step: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The global batch of a step: the same in every process, whatever the world size."""
    generator = torch.Generator().manual_seed(step)
    inputs = torch.randn(size, 10, generator=generator)
    targets = inputs.sum(dim=1, keepdim=True).sin()
    return inputs, targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--batch-size", type=int, default=32, help="global, split between processes"
    )
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--save", help="write the trained parameters here (from rank 0)")
    args = parser.parse_args()

    distributed = "WORLD_SIZE" in os.environ  # set by torchrun
    device_module = getattr(torch, DEVICE)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(DEVICE, local_rank % device_module.device_count())
    device_module.set_device(device)
    if distributed:
        dist.init_process_group()
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} does not split between {world} processes")

    model = make_model().to(device)
    trained = DistributedDataParallel(model) if distributed else model
    optimizer = torch.optim.SGD(trained.parameters(), lr=args.lr, momentum=0.9)
    for step in range(args.steps):
        inputs, targets = batch(step, args.batch_size)
        inputs = inputs.chunk(world)[rank].to(device)
        targets = targets.chunk(world)[rank].to(device)
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(trained(inputs), targets)
        loss.backward()
        optimizer.step()
        loss = loss.detach()
        if distributed:  # the mean over the global batch, for the log
            dist.all_reduce(loss)
            loss /= world
        if rank == 0 and (step % 5 == 0 or step == args.steps - 1):
            print(
                f"step {step:3d}  loss {loss.item():.5f}  ({world} process(es) on {DEVICE})",
                flush=True,
            )

    if args.save and rank == 0:
        torch.save({name: value.cpu() for name, value in model.state_dict().items()}, args.save)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
