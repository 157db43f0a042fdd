"""A torch.compile'd training step on the device, next to the same compiled step on the CPU.

    python benchmarks/bench_compile.py [--repeats 30] [--seconds 0.05]

The step (zero_grad, forward, backward, SGD step of a 512-512-10 MLP on a
batch of 64) is compiled with torch.compile's default backend, inductor,
once per device: on the device, inductor's C++ code generation runs on
device memory (src/.../_inductor.py). Both run in this one process,
alternating; the figure is the best time per step over the repeats (each
repeat runs for about --seconds, then synchronizes the device). Many short
repeats keep the best clear of other processes' load. The target: the
device within 1.3x the CPU's time.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

import {{ cookiecutter.package_name }}  # noqa: F401  (registers the device)

DEVICE = "{{ cookiecutter.device_type }}"
TARGET = 1.3


def compiled_mlp_step(device: str) -> Callable[[], None]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs = torch.randn(64, 512).to(device)
    targets = torch.randint(0, 10, (64,)).to(device)

    @torch.compile
    def step() -> None:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()

    return step


def synchronize(device: str) -> None:
    if device != "cpu":
        torch.accelerator.synchronize()


def seconds_per_step(step: Callable[[], None], device: str, budget: float) -> float:
    """One repeat: as many steps as fit in the budget, then a synchronize."""
    step()
    synchronize(device)
    steps, start = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        if time.perf_counter() - start >= budget:
            break
    synchronize(device)
    return (time.perf_counter() - start) / steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=0.05, help="per repeat and device")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    steps, compile_seconds = {}, {}
    for device in ("cpu", DEVICE):
        steps[device] = compiled_mlp_step(device)
        start = time.perf_counter()
        steps[device]()  # compiles: forward and backward, then the optimizer step
        synchronize(device)
        compile_seconds[device] = time.perf_counter() - start

    best = {device: math.inf for device in steps}
    for _ in range(args.repeats):
        for device, step in steps.items():
            best[device] = min(best[device], seconds_per_step(step, device, args.seconds))

    name = "compiled MLP training step (512-512-10, batch 64, SGD)"
    print(
        f"{name}, first call (compiles): cpu {compile_seconds['cpu']:.1f} s, "
        f"{DEVICE} {compile_seconds[DEVICE]:.1f} s"
    )
    print(f"{'':10} {'cpu':>12} {DEVICE:>12} {'ratio':>6}")
    ratio = best[DEVICE] / best["cpu"]
    print(f"{'per step':10} {best['cpu'] * 1e6:9.1f} us {best[DEVICE] * 1e6:9.1f} us {ratio:6.2f}")
    verdict = "target met" if ratio <= TARGET else "target missed"
    print(f"ratio {ratio:.2f} (target <= {TARGET}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
