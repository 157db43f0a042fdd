"""all_reduce on device tensors across processes, next to the same call on CPU tensors.

    python benchmarks/bench_collectives.py [--mib 64] [--iterations 20] [--warmup 3]

Two processes (started with torch.multiprocessing's "spawn") join one gloo
process group, which serves CPU and device tensors alike, at a TCPStore on
127.0.0.1 that listens on a port the OS chose. Each runs
``torch.distributed.all_reduce`` (sum) on ``--mib`` MiB of float32 on its
device (``<device>:<rank>``) and on the CPU, alternating the two, first
after ``--warmup`` calls of each: the ranks line up (a one-element CPU
all_reduce) before each call, and the clock stops once the call has returned
and the device has synchronized. A call's time is its slowest rank's; the
figures are the median (and best) over ``--iterations`` calls, with the
algorithm bandwidth (bytes / time) and the bus bandwidth as nccl-tests
define it for all_reduce (algbw x 2(n-1)/n for n ranks). The device's
collectives are gloo's, run on host memory (csrc/backend/collectives.cpp),
so the target is the device's median within 1.2x the CPU's.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import queue
import statistics
import sys
import time
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import {{ cookiecutter.package_name }}  # registers the device (the spawned ranks import this too)

DEVICE = {{ cookiecutter.package_name }}.DEVICE_TYPE
HOST = "127.0.0.1"
WORLD = 2
TARGET_RATIO = 1.2
DEVICE_VARIANT = f"device tensors ({DEVICE}:<rank>)"
CPU_VARIANT = "CPU tensors"


def measure(rank: int, port: int, nbytes: int, iterations: int, warmup: int, timeout: float):
    """Seconds of each timed all_reduce on this rank, by variant."""
    device_module = getattr(torch, DEVICE)
    device = torch.device(DEVICE, rank % device_module.device_count())  # ranks may share one
    device_module.set_device(device.index)
    limit = datetime.timedelta(seconds=timeout)
    store = dist.TCPStore(HOST, port, WORLD, is_master=False, timeout=limit)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=WORLD, timeout=limit)
    numel = nbytes // 4
    tensors = {
        DEVICE_VARIANT: torch.full((numel,), rank + 1.0, device=device),
        CPU_VARIANT: torch.full((numel,), rank + 1.0),
    }
    # Both variants must reduce for real before they are timed; then zeros,
    # whose sums stay zeros however many calls follow.
    expected = WORLD * (WORLD + 1) / 2
    for name, tensor in tensors.items():
        dist.all_reduce(tensor)
        if not bool((tensor.cpu() == expected).all()):
            raise AssertionError(f"{name}: all_reduce did not sum to {expected}")
        tensor.zero_()
    device_module.synchronize()
    line_up = torch.zeros(1)

    def timed(name: str) -> float:
        dist.all_reduce(line_up)
        started = time.perf_counter()
        dist.all_reduce(tensors[name])
        device_module.synchronize()
        return time.perf_counter() - started

    for _ in range(warmup):
        for name in tensors:
            timed(name)
    seconds: dict[str, list[float]] = {name: [] for name in tensors}
    for iteration in range(iterations):
        order = list(tensors) if iteration % 2 == 0 else list(reversed(tensors))
        for name in order:
            seconds[name].append(timed(name))
    return seconds


def worker(rank: int, port: int, arguments: tuple, results) -> None:
    try:
        results.put((rank, True, measure(rank, port, *arguments)))
    except BaseException:  # noqa: BLE001 - reported by the parent
        results.put((rank, False, traceback.format_exc()))
    finally:
        if dist.is_initialized():
            with contextlib.suppress(Exception):
                dist.destroy_process_group()


def run_ranks(arguments: tuple, timeout: float) -> list[dict[str, list[float]]]:
    """Each rank's figures; every rank has exited or been killed when this returns."""
    limit = datetime.timedelta(seconds=timeout)
    # The parent holds the store, so the port is known before the ranks start.
    store = dist.TCPStore(HOST, 0, WORLD, is_master=True, wait_for_workers=False, timeout=limit)
    context = mp.get_context("spawn")
    results = context.Queue()
    ranks = [
        context.Process(target=worker, args=(rank, store.port, arguments, results), daemon=True)
        for rank in range(WORLD)
    ]
    received: dict[int, tuple[bool, object]] = {}
    deadline = time.monotonic() + timeout
    try:
        for process in ranks:
            process.start()
        # A failed rank ends the wait: its peer may be blocked in a collective.
        while len(received) < WORLD and all(ok for ok, _ in received.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the ranks did not finish within {timeout:.0f} s")
            try:
                rank, ok, value = results.get(timeout=0.5)
                received[rank] = (ok, value)
                continue
            except queue.Empty:
                pass
            for rank, process in enumerate(ranks):
                if rank not in received and process.exitcode is not None:
                    # Its result may still be in the pipe: one last look.
                    with contextlib.suppress(queue.Empty):
                        got, ok, value = results.get(timeout=2)
                        received[got] = (ok, value)
                    if rank not in received:
                        raise RuntimeError(
                            f"rank {rank} exited ({process.exitcode}) with no result"
                        )
        for process in ranks:
            process.join(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in ranks:
            if process.is_alive():
                process.kill()
            process.join(timeout=10)
        results.close()
        results.join_thread()
    failures = [f"--- rank {rank} ---\n{value}" for rank, (ok, value) in received.items() if not ok]
    if failures:
        raise RuntimeError("\n".join(failures))
    return [received[rank][1] for rank in range(WORLD)]


def report(per_rank: list[dict[str, list[float]]], args: argparse.Namespace) -> bool:
    nbytes = args.mib * 1024 * 1024
    bus_factor = 2 * (WORLD - 1) / WORLD
    print(
        f"all_reduce (sum), {args.mib} MiB float32, {WORLD} processes, gloo;"
        f" median (best) of {args.iterations} calls after {args.warmup} warm-up, slowest rank"
    )
    print(f"{'variant':28} {'ms per call':>18} {'algbw GB/s':>11} {'busbw GB/s':>11}")
    medians = {}
    for name in (DEVICE_VARIANT, CPU_VARIANT):
        calls = [max(seconds) for seconds in zip(*(rank[name] for rank in per_rank), strict=True)]
        medians[name] = statistics.median(calls)
        algbw = nbytes / medians[name] / 1e9
        timing = f"{medians[name] * 1e3:.2f} ({min(calls) * 1e3:.2f})"
        print(f"{name:28} {timing:>18} {algbw:11.3f} {algbw * bus_factor:11.3f}")
    print(
        f"bus bandwidth (busbw) = algbw x 2(n-1)/n = {bus_factor:.2f} x algbw for n = {WORLD}"
        " (nccl-tests); GB = 10^9 bytes"
    )
    ratio = medians[DEVICE_VARIANT] / medians[CPU_VARIANT]
    print(f"ratio device/CPU {ratio:.2f} (target <= {TARGET_RATIO})")
    return ratio <= TARGET_RATIO


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds the whole run may take"
    )
    args = parser.parse_args()
    if args.mib < 1 or args.iterations < 1 or args.warmup < 0:
        parser.error("--mib and --iterations must be at least 1, --warmup at least 0")
    arguments = (args.mib * 1024 * 1024, args.iterations, args.warmup, args.timeout)
    try:
        per_rank = run_ranks(arguments, args.timeout)
    except RuntimeError as error:
        print(f"bench_collectives: {error}", file=sys.stderr)
        return 1
    met = report(per_rank, args)
    print("target met" if met else "target missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
