"""What real work costs on the device, next to the same work on the CPU.

    python benchmarks/bench_ops.py [--repeats 5] [--seconds 0.3]

Each piece of work runs on the CPU and on the device in this one process,
alternating, and the figure is the best time per iteration over the repeats
(each repeat runs for about --seconds, then synchronizes the device). The
targets: the tiny operation within 4x the CPU's time; the others within
1.3x as a geometric mean, and none over 2x.
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
TINY = "a + b, 100 floats"
TARGET_TINY = 4.0
TARGET_GEOMEAN = 1.3
TARGET_WORST = 2.0


def mlp_step(device: str) -> Callable[[], None]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs = torch.randn(64, 512).to(device)
    targets = torch.randint(0, 10, (64,)).to(device)

    def step() -> None:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()

    return step


def cnn_step(device: str) -> Callable[[], None]:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    ).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    images = torch.randn(16, 3, 32, 32).to(device)
    labels = torch.randint(0, 10, (16,)).to(device)

    def step() -> None:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()

    return step


def binary_op(device: str) -> Callable[[], None]:
    a, b = torch.randn(100).to(device), torch.randn(100).to(device)
    return lambda: a + b


def matmul(device: str) -> Callable[[], None]:
    m = torch.randn(256, 256).to(device)
    return lambda: m @ m


def relu(device: str) -> Callable[[], None]:
    x = torch.randn(4 * 1024 * 1024).to(device)
    return lambda: torch.relu(x)


def embedding(device: str) -> Callable[[], None]:
    torch.manual_seed(0)
    table = nn.Embedding(10_000, 128).to(device)
    indices = torch.randint(0, 10_000, (256,)).to(device)

    def forward() -> None:
        with torch.no_grad():
            table(indices)

    return forward


WORK: dict[str, Callable[[str], Callable[[], None]]] = {
    TINY: binary_op,
    "m @ m, 256x256": matmul,
    "relu over 4M floats": relu,
    "MLP training step (512-512-10, batch 64, SGD)": mlp_step,
    "nn.Embedding forward (10000x128, 256 indices)": embedding,
    "CNN training step (2 conv, batch 16, 32x32)": cnn_step,
}


def synchronize(device: str) -> None:
    if device != "cpu":
        torch.accelerator.synchronize()


def seconds_per_iteration(run: Callable[[], None], device: str, budget: float) -> float:
    """One repeat: as many iterations as fit in the budget, then a synchronize."""
    run()  # warm up caches and lazy initialisation
    synchronize(device)
    iterations, start = 0, time.perf_counter()
    while True:
        run()
        iterations += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            break
    synchronize(device)
    return (time.perf_counter() - start) / iterations


def measure(repeats: int, budget: float) -> dict[str, tuple[float, float]]:
    figures = {}
    for name, make in WORK.items():
        runs = {device: make(device) for device in ("cpu", DEVICE)}
        best = {device: math.inf for device in runs}
        for _ in range(repeats):
            for device, run in runs.items():
                best[device] = min(best[device], seconds_per_iteration(run, device, budget))
        figures[name] = (best["cpu"], best[DEVICE])
    return figures


def describe(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:10.2f} ms"


def report(figures: dict[str, tuple[float, float]]) -> bool:
    print(f"{'work':48} {'cpu':>13} {DEVICE:>13} {'ratio':>6}")
    ratios = {}
    for name, (cpu, device) in figures.items():
        ratios[name] = device / cpu
        print(f"{name:48} {describe(cpu)} {describe(device)} {ratios[name]:6.2f}")
    others = {name: ratio for name, ratio in ratios.items() if name != TINY}
    geomean = math.exp(sum(math.log(r) for r in others.values()) / len(others))
    worst = max(others, key=others.get)
    print(f"tiny operation ratio {ratios[TINY]:.2f} (target <= {TARGET_TINY})")
    print(f"others: geometric mean ratio {geomean:.2f} (target <= {TARGET_GEOMEAN})")
    print(f"others: worst ratio {others[worst]:.2f}, {worst} (target <= {TARGET_WORST})")
    return (
        ratios[TINY] <= TARGET_TINY and geomean <= TARGET_GEOMEAN and others[worst] <= TARGET_WORST
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="per repeat and device")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    met = report(measure(args.repeats, args.seconds))
    print("targets met" if met else "targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
