"""The example trains with DDP when launched as users launch it: with torchrun.

- one machine: ``torchrun --standalone --nproc-per-node 2``;
- two "machines": two ``torchrun --nnodes 2 --node-rank N`` launches on this
  host that meet at a c10d rendezvous on 127.0.0.1.

Both must end with the parameters the example reaches in one process.
Rendezvous ports come from the OS; each launch runs in a session of its own,
killed whole if it outlives its deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from distributed_workers import PROJECT_ROOT, free_port

EXAMPLE = PROJECT_ROOT / "examples" / "train_ddp.py"
STEPS = "8"
LAUNCH_TIMEOUT = 300


def torchrun() -> list[str]:
    """torchrun, as installed beside this Python (else the module it runs)."""
    script = Path(sys.executable).with_name("torchrun")
    return [str(script)] if script.exists() else [sys.executable, "-m", "torch.distributed.run"]


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(PROJECT_ROOT / "src"), os.environ.get("PYTHONPATH", "")]
        ),
        "OMP_NUM_THREADS": "1",  # torchrun warns otherwise
    }


def start(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # torchrun and its workers: one process group to stop
        )


def finish(launches: list[tuple[subprocess.Popen, Path]], timeout: float) -> None:
    """Wait for every launch; stop them all (workers included) if one fails or is late."""
    try:
        for process, log in launches:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{' '.join(process.args)} ran past {timeout} s:\n{log.read_text()}")
            assert process.returncode == 0, log.read_text()
    finally:
        for process, _ in launches:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture(scope="module")
def one_process_result(tmp_path_factory) -> dict[str, torch.Tensor]:
    folder = tmp_path_factory.mktemp("one-process")
    saved = folder / "parameters.pt"
    log = folder / "log.txt"
    finish(
        [(start([sys.executable, str(EXAMPLE), "--steps", STEPS, "--save", str(saved)], log), log)],
        240,
    )
    return torch.load(saved)


def assert_same_parameters(saved: Path, expected: dict[str, torch.Tensor]) -> None:
    got = torch.load(saved)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, msg=name)


def test_example_trains_with_torchrun_on_one_machine(tmp_path, one_process_result):
    saved = tmp_path / "parameters.pt"
    log = tmp_path / "log.txt"
    command = [
        *torchrun(),
        "--standalone",  # a rendezvous on a port the OS picks
        "--nproc-per-node",
        "2",
        str(EXAMPLE),
        "--steps",
        STEPS,
        "--save",
        str(saved),
    ]
    finish([(start(command, log), log)], LAUNCH_TIMEOUT)
    assert "2 process(es)" in log.read_text()
    assert_same_parameters(saved, one_process_result)


def test_example_trains_across_two_machines(tmp_path, one_process_result):
    saved = tmp_path / "parameters.pt"
    endpoint = f"127.0.0.1:{free_port()}"
    launches = []
    for node in (0, 1):
        command = [
            *torchrun(),
            "--nnodes",
            "2",
            "--node-rank",
            str(node),
            "--nproc-per-node",
            "1",
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            endpoint,
            "--rdzv-id",
            "two-machines",
            # Both "machines" are this host: say which one serves the rendezvous.
            "--rdzv-conf",
            f"is_host={'true' if node == 0 else 'false'}",
            str(EXAMPLE),
            "--steps",
            STEPS,
            "--save",
            str(saved),
        ]
        log = tmp_path / f"node{node}.txt"
        launches.append((start(command, log), log))
    finish(launches, LAUNCH_TIMEOUT)
    assert "2 process(es)" in "".join(log.read_text() for _, log in launches)
    assert_same_parameters(saved, one_process_result)
