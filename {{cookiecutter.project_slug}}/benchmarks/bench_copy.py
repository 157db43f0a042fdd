"""Copy bandwidth between the host and the device, next to a plain CPU copy.

    python benchmarks/bench_copy.py [--mib 64] [--repeats 10]

Prints GB/s (10^9 bytes per second) for a host-to-device and a
device-to-host copy of ``--mib`` MiB of float32, each a blocking
``Tensor.copy_`` (queued on the current stream, then waited for), and for a
``copy_`` between two CPU tensors of the same size: the best of ``--repeats``.
Device memory is host memory, so the CPU copy is the ceiling.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import torch

import {{ cookiecutter.package_name }}  # noqa: F401  (registers the device)


def best_seconds(copy: Callable[[], None], repeats: int) -> float:
    copy()  # warm up: first-touch page faults, thread start-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        copy()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    nbytes = args.mib * 1024 * 1024
    host = torch.rand(nbytes // 4)
    host_target = torch.empty_like(host)
    device = torch.empty_like(host, device="mtia:0")
    cases = {
        "host to device (copy_)": lambda: device.copy_(host),
        "device to host (copy_)": lambda: host_target.copy_(device),
        "host to host, CPU copy_": lambda: host_target.copy_(host),
    }
    print(f"{args.mib} MiB float32, best of {args.repeats}")
    for name, copy in cases.items():
        seconds = best_seconds(copy, args.repeats)
        print(f"{name:28} {nbytes / seconds / 1e9:7.2f} GB/s  ({seconds * 1e3:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
