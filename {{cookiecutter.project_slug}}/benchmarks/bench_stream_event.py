"""Per-call cost of stream and event calls, next to a backend whose calls do nothing.

    python benchmarks/bench_stream_event.py [--rounds 3] [--batches 7] [--calls 20000]

Each variant runs in its own interpreter (a process can hold one MTIA
backend): the emulated device, and the same glue built against the driver
skeleton (csrc/skeleton/), where every driver call returns at once. The
variants alternate for several rounds so that both see the same machine. The
figures are nanoseconds per call, the best over all batches and rounds, with
the cost of the timing loop itself subtracted; nothing is queued on the
streams. The target is a geometric-mean ratio within 1.3x and no call over 2x.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import timeit
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"
TARGET_GEOMEAN = 1.3
TARGET_WORST = 2.0

SETUP = """
stream = torch.Stream(device="mtia:0")
event = torch.Event(device="mtia:0")
event.record(stream)
start = torch.Event(device="mtia:0", enable_timing=True)
end = torch.Event(device="mtia:0", enable_timing=True)
start.record(stream)
end.record(stream)
"""

OPERATIONS = {
    "new stream": 'torch.Stream(device="mtia:0")',
    "stream.record_event()": "stream.record_event()",
    "event.record(stream)": "event.record(stream)",
    "event.query()": "event.query()",
    "event.synchronize()": "event.synchronize()",
    "stream.query()": "stream.query()",
    "stream.synchronize()": "stream.synchronize()",
    "with stream: (enter+exit)": "with stream: pass",
    "torch.accelerator.current_stream()": "torch.accelerator.current_stream()",
    "start.elapsed_time(end)": "start.elapsed_time(end)",
    "stream.wait_event(event)": "stream.wait_event(event)",
}


def load_null_backend():
    """Build and load the glue against the driver skeleton, which does nothing.

    Importing the package would load the emulated device, so the loader
    module is loaded from its file instead.
    """
    loader_file = PROJECT_ROOT / "src" / PACKAGE / "_loader.py"
    spec = importlib.util.spec_from_file_location("_bench_loader", loader_file)
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    loader.build_with_driver("skeleton")


def measure(variant: str, batches: int, calls: int) -> dict[str, float]:
    """Nanoseconds per call of each operation, in this interpreter."""
    import torch

    if variant == "emulated":
        importlib.import_module(PACKAGE)
    else:
        load_null_backend()
    namespace = {"torch": torch}
    exec(SETUP, namespace)
    empty_loop = min(timeit.Timer("pass").repeat(batches, calls)) / calls
    results = {}
    for name, statement in OPERATIONS.items():
        best = min(timeit.Timer(statement, globals=namespace).repeat(batches, calls)) / calls
        results[name] = max(best - empty_loop, 0.0) * 1e9
    return results


def measure_in_subprocess(variant: str, batches: int, calls: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--variant", variant]
    command += ["--batches", str(batches), "--calls", str(calls)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def report(emulated: dict[str, float], null: dict[str, float], args: argparse.Namespace) -> bool:
    print(
        f"ns per call, best of {args.rounds} rounds x {args.batches} batches"
        f" of {args.calls} calls, loop cost subtracted"
    )
    print(f"{'operation':36} {'emulated':>9} {'null':>9} {'ratio':>6}")
    ratios = {}
    for name in OPERATIONS:
        ratios[name] = emulated[name] / max(null[name], 1.0)
        print(f"{name:36} {emulated[name]:9.0f} {null[name]:9.0f} {ratios[name]:6.2f}")
    geomean = math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios))
    worst = max(ratios, key=ratios.get)
    print(f"geometric mean ratio {geomean:.2f} (target <= {TARGET_GEOMEAN})")
    print(f"worst ratio {ratios[worst]:.2f}, {worst} (target <= {TARGET_WORST})")
    return geomean <= TARGET_GEOMEAN and ratios[worst] <= TARGET_WORST


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--variant", choices=["emulated", "null"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.variant, args.batches, args.calls)))
        return 0
    best: dict[str, dict[str, float]] = {"emulated": {}, "null": {}}
    for _ in range(args.rounds):
        for variant, figures in best.items():
            for name, ns in measure_in_subprocess(variant, args.batches, args.calls).items():
                figures[name] = min(ns, figures.get(name, math.inf))
    met = report(best["emulated"], best["null"], args)
    print("target met" if met else "target missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
