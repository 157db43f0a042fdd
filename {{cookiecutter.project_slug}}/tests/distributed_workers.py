"""Running the distributed tests' code in several processes.

``run_workers(function, ...)`` starts ``function(rank, world, *args)`` in
``world`` processes made with "spawn" (a child forked from a process that
used the device refuses the device), waits for their results up to a
deadline, and kills any worker still running when it returns: no test leaves
a process behind or waits forever. Workers meet at a FileStore in a folder
the test owns, or at a TCPStore on a port the OS chose: no fixed ports.

The worker functions live here, in a module the children can import by name
(pytest imports test modules under names a child could not).
"""

from __future__ import annotations

import contextlib
import queue
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Seconds a group of workers may take: imports and the backend's load take a
# few seconds per process on a busy two-core machine.
DEFAULT_TIMEOUT = 240.0


class WorkerError(AssertionError):
    """A worker failed, died, or missed the deadline."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that the OS reports free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _plain(value):
    """Tensors as NumPy arrays: sent by value (a CPU tensor would be sent as
    shared memory, gone once its worker exits)."""
    if isinstance(value, torch.Tensor):
        return ("tensor", value.detach().cpu().numpy())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


def _tensors(value):
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "tensor":
        return torch.from_numpy(value[1])
    if isinstance(value, dict):
        return {key: _tensors(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_tensors(item) for item in value)
    return value


def _entry(function, rank, world, results, arguments):
    try:
        value = function(rank, world, *arguments)
        results.put((rank, True, _plain(value)))
    except BaseException:  # noqa: BLE001 - reported to the test
        results.put((rank, False, traceback.format_exc()))
    finally:
        if dist.is_available() and dist.is_initialized():
            with contextlib.suppress(Exception):
                dist.destroy_process_group()


def run_workers(
    function: Callable,
    world: int = 2,
    arguments: tuple = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> list:
    """``function(rank, world, *arguments)`` in ``world`` spawned processes: their results by rank.

    Raises WorkerError with every worker's traceback if one fails, exits
    without a result, or the deadline passes; every worker has exited or
    been killed when this returns.
    """
    context = mp.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_entry, args=(function, rank, world, results, arguments))
        for rank in range(world)
    ]
    received: dict[int, tuple[bool, object]] = {}
    exited_at: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    try:
        for worker in workers:
            worker.start()
        while len(received) < world:
            now = time.monotonic()
            if now > deadline:
                raise WorkerError(
                    f"workers {sorted(set(range(world)) - set(received))} did not finish within "
                    f"{timeout:.0f} s; results so far: {_describe(received)}"
                )
            try:
                rank, ok, value = results.get(timeout=0.5)
                received[rank] = (ok, value)
                continue
            except queue.Empty:
                pass
            for rank, worker in enumerate(workers):
                if rank in received or worker.exitcode is None:
                    continue
                # Its result may still be in the pipe: allow it a moment.
                if now - exited_at.setdefault(rank, now) > 5:
                    raise WorkerError(
                        f"worker {rank} exited with status {worker.exitcode} without a result; "
                        f"results so far: {_describe(received)}"
                    )
        for worker in workers:
            worker.join(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
            worker.join(timeout=10)
        results.close()
        results.join_thread()
    failures = {rank: value for rank, (ok, value) in received.items() if not ok}
    if failures:
        raise WorkerError(
            "".join(f"\n--- worker {rank} ---\n{text}" for rank, text in sorted(failures.items()))
        )
    return [_tensors(received[rank][1]) for rank in range(world)]


def _describe(received: dict) -> str:
    return (
        ", ".join(
            f"{rank}: {'ok' if ok else 'failed: ' + str(value).strip().splitlines()[-1]}"
            for rank, (ok, value) in sorted(received.items())
        )
        or "none"
    )


def init(rank: int, world: int, store_path: str, backend_string: str | None) -> torch.device:
    """Join the process group (backend None: init_process_group() with no backend).

    Each rank takes the device of its rank, as torchrun's local ranks do; with
    fewer devices than ranks, ranks share them (as processes share a GPU).
    """
    device_module = getattr(torch, DEVICE)
    index = rank % device_module.device_count()
    device_module.set_device(index)
    options = dict(init_method=f"file://{store_path}", rank=rank, world_size=world)
    if backend_string is None:
        dist.init_process_group(**options)
    else:
        dist.init_process_group(backend_string, **options)
    return torch.device(DEVICE, index)


# ---- Every collective, on device tensors and on CPU tensors --------------------


def _collective_cases(rank: int, world: int, device: torch.device) -> dict[str, Callable]:
    """Each case runs one collective on tensors made on ``device`` and returns what it produced."""

    def value(*shape, dtype=torch.float32, scale=1.0):
        count = 1
        for size in shape:
            count *= size
        base = torch.arange(count, dtype=torch.float64).reshape(shape) * scale + 10 * (rank + 1)
        return base.to(dtype).to(device)

    def all_reduce(op, dtype=torch.float32):
        def run():
            tensor = value(3, 4, dtype=dtype)
            dist.all_reduce(tensor, op=op)
            return tensor

        return run

    def all_reduce_strided():
        tensor = value(4, 3).t()
        dist.all_reduce(tensor)
        return tensor

    def all_reduce_coalesced():
        tensors = [value(3), value(2, 2)]
        dist.all_reduce_coalesced(tensors)
        return tensors

    def broadcast():
        tensor = value(5)
        dist.broadcast(tensor, src=1)
        return tensor

    def reduce():
        tensor = value(5)
        dist.reduce(tensor, dst=1)
        return tensor if rank == 1 else None

    def all_gather():
        outputs = [torch.zeros(3, device=device) for _ in range(world)]
        dist.all_gather(outputs, value(3))
        return outputs

    def all_gather_into_tensor():
        output = torch.zeros(world * 3, device=device)
        dist.all_gather_into_tensor(output, value(3))
        return output

    def all_gather_coalesced():
        outputs = [
            [torch.zeros(2, device=device), torch.zeros(3, device=device)] for _ in range(world)
        ]
        dist.all_gather_coalesced(outputs, [value(2), value(3)])
        return outputs

    def all_gather_into_tensor_coalesced():
        outputs = [torch.zeros(world * 2, device=device), torch.zeros(world * 3, device=device)]
        with dist._coalescing_manager():
            dist.all_gather_into_tensor(outputs[0], value(2))
            dist.all_gather_into_tensor(outputs[1], value(3))
        return outputs

    def reduce_scatter():
        output = torch.zeros(3, device=device)
        dist.reduce_scatter(output, [value(3, scale=r + 1) for r in range(world)])
        return output

    def reduce_scatter_tensor():
        output = torch.zeros(3, device=device)
        dist.reduce_scatter_tensor(output, value(world * 3))
        return output

    def reduce_scatter_tensor_coalesced():
        outputs = [torch.zeros(2, device=device), torch.zeros(3, device=device)]
        with dist._coalescing_manager():
            dist.reduce_scatter_tensor(outputs[0], value(world * 2))
            dist.reduce_scatter_tensor(outputs[1], value(world * 3))
        return outputs

    def all_to_all():
        outputs = [torch.zeros(2, device=device) for _ in range(world)]
        dist.all_to_all(outputs, [value(2, scale=r + 1) for r in range(world)])
        return outputs

    def all_to_all_single():
        output = torch.zeros(world * 2, device=device)
        dist.all_to_all_single(output, value(world * 2))
        return output

    def all_to_all_single_uneven():
        # rank r sends r + 1 + d elements to rank d.
        send = [rank + 1 + d for d in range(world)]
        receive = [s + 1 + rank for s in range(world)]
        output = torch.zeros(sum(receive), device=device)
        dist.all_to_all_single(output, value(sum(send)), receive, send)
        return output

    def gather():
        outputs = [torch.zeros(3, device=device) for _ in range(world)] if rank == 0 else None
        dist.gather(value(3), outputs, dst=0)
        return outputs

    def scatter():
        output = torch.zeros(3, device=device)
        inputs = [value(3, scale=r + 1) for r in range(world)] if rank == 0 else None
        dist.scatter(output, inputs, src=0)
        return output

    def send_recv():
        tensor = value(4)
        if rank == 0:
            dist.send(tensor, dst=1)
            return None
        received = torch.zeros(4, device=device)
        dist.recv(received, src=0)
        return received

    def isend_irecv_any_source():
        if rank == 1:
            work = dist.isend(value(4), dst=0)
            work.wait()
            return None
        received = torch.zeros(4, device=device)
        source = dist.recv(received)  # from any source
        return [received, float(source)]

    def batch_isend_irecv():
        peer = (rank + 1) % world
        received = torch.zeros(4, device=device)
        operations = [
            dist.P2POp(dist.isend, value(4), peer),
            dist.P2POp(dist.irecv, received, (rank - 1) % world),
        ]
        for work in dist.batch_isend_irecv(operations):
            work.wait()
        return received

    def async_all_reduce():
        tensor = value(6)
        work = dist.all_reduce(tensor, async_op=True)
        work.wait()
        future_value = work.get_future().wait()
        return [tensor, future_value[0]]

    def functional_all_reduce():
        import torch.distributed._functional_collectives as funcol

        return funcol.all_reduce(value(4), "sum", dist.group.WORLD)

    def barrier():
        dist.barrier()
        return None

    cases = {
        "all_reduce sum": all_reduce(dist.ReduceOp.SUM),
        "all_reduce max": all_reduce(dist.ReduceOp.MAX),
        "all_reduce product": all_reduce(dist.ReduceOp.PRODUCT),
        "all_reduce avg": all_reduce(dist.ReduceOp.AVG),
        "all_reduce int64": all_reduce(dist.ReduceOp.SUM, torch.int64),
        "all_reduce bfloat16": all_reduce(dist.ReduceOp.SUM, torch.bfloat16),
        "all_reduce strided": all_reduce_strided,
        "all_reduce_coalesced": all_reduce_coalesced,
        "broadcast": broadcast,
        "reduce": reduce,
        "all_gather": all_gather,
        "all_gather_into_tensor": all_gather_into_tensor,
        "all_gather_coalesced": all_gather_coalesced,
        "all_gather_into_tensor (coalesced)": all_gather_into_tensor_coalesced,
        "reduce_scatter": reduce_scatter,
        "reduce_scatter_tensor": reduce_scatter_tensor,
        "reduce_scatter_tensor (coalesced)": reduce_scatter_tensor_coalesced,
        "all_to_all": all_to_all,
        "all_to_all_single": all_to_all_single,
        "all_to_all_single (uneven splits)": all_to_all_single_uneven,
        "gather": gather,
        "scatter": scatter,
        "send and recv": send_recv,
        "isend and recv from any source": isend_irecv_any_source,
        "batch_isend_irecv": batch_isend_irecv,
        "async all_reduce, wait and future": async_all_reduce,
        "functional all_reduce": functional_all_reduce,
        "barrier": barrier,
    }
    if hasattr(dist, "gather_single"):  # torch 2.14: c10d::gather_into_tensor_

        def gather_single():
            output = torch.zeros(world * 3, device=device) if rank == 0 else None
            dist.gather_single(value(3), output, dst=0)
            return output

        cases["gather_single"] = gather_single
    return cases


def _on_host(value):
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, (list, tuple)):
        return [_on_host(item) for item in value]
    return value


def _devices(value) -> set:
    if isinstance(value, torch.Tensor):
        return {value.device}
    if isinstance(value, (list, tuple)):
        return set().union(*(_devices(item) for item in value))
    return set()


def compare_collectives(rank: int, world: int, store_path: str, backend_string: str | None):
    """Run every case on device tensors and on CPU tensors; report what differs.

    Returns (names checked, failures): a failure is a case whose device run
    raised or gave other values than its CPU run.
    """
    import warnings

    warnings.simplefilter("ignore", FutureWarning)  # torch's deprecations of some names
    device = init(rank, world, store_path, backend_string)
    on_device = _collective_cases(rank, world, device)
    on_cpu = _collective_cases(rank, world, torch.device("cpu"))
    failures = []
    for name, case in on_device.items():
        try:
            expected = on_cpu[name]()
        except RuntimeError as refusal:
            # gloo refuses some collectives for CPU tensors as well (gather_single,
            # which it does not implement): device tensors must get the same refusal.
            try:
                case()
            except RuntimeError as error:
                if str(error) != str(refusal):
                    failures.append(f"{name}: raised {error!r}, on the CPU {refusal!r}")
            else:
                failures.append(f"{name}: on the CPU it raised {refusal!r}, here nothing")
            continue
        try:
            got = case()
        except Exception as error:  # noqa: BLE001 - reported
            failures.append(f"{name}: raised {type(error).__name__}: {error}")
            continue
        try:
            if expected is None:
                assert got is None, f"expected no result, got {got}"
            else:
                torch.testing.assert_close(_on_host(got), expected, equal_nan=True)
                assert _devices(got) == {device}, f"results on {_devices(got)}"
        except AssertionError as error:
            failures.append(f"{name}: {error}")
    return sorted(on_device), failures


def no_backend_for_the_device(rank: int, world: int, store_path: str):
    """A process group with CPU tensors only: device tensors get an error that says what to do."""
    device = init(rank, world, store_path, "cpu:gloo")
    try:
        dist.all_reduce(torch.ones(2, device=device))
    except RuntimeError as error:
        return str(error)
    return None


# ---- Stream order ------------------------------------------------------------------


def stream_order(rank: int, world: int, store_path: str):
    """Collectives see the work queued before them on the current stream; later work, theirs."""
    device = init(rank, world, store_path, "gloo")
    module = getattr(torch, DEVICE)
    results = {}
    tensor = torch.zeros(4, device=device)
    backend.sleep(300)  # keeps the current stream busy
    tensor.fill_(rank + 1)  # queued behind the busy period
    dist.all_reduce(tensor)
    tensor.mul_(10)  # queued after the collective
    results["default stream"] = tensor.cpu()

    side = module.Stream(device=device)
    with module.stream(side):
        other = torch.zeros(4, device=device)
        backend.sleep(300)
        other.fill_(rank + 1)
        work = dist.all_reduce(other, async_op=True)
        work.wait()
        other.add_(1)
        results["side stream, async_op"] = other.cpu()

    gathered = torch.zeros(2 * world, device=device)
    source = torch.zeros(2, device=device)
    backend.sleep(300)
    source.fill_(rank + 1)
    work = dist.all_gather_into_tensor(gathered, source, async_op=True)
    work.get_future().wait()
    results["future"] = gathered.cpu()
    return results


# ---- Training ------------------------------------------------------------------------

TRAINING_STEPS = 4
GLOBAL_BATCH = 8  # split between the ranks


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)
    )


def training_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    return [
        (
            torch.randn(GLOBAL_BATCH, 6, generator=generator),
            torch.randn(GLOBAL_BATCH, 3, generator=generator),
        )
        for _ in range(TRAINING_STEPS)
    ]


def train(model: nn.Module, parameters, rank: int, world: int, device) -> None:
    """SGD with momentum on this rank's share of each global batch (mean loss)."""
    optimizer = torch.optim.SGD(parameters, lr=0.05, momentum=0.9)
    for inputs, targets in training_batches():
        inputs = inputs.chunk(world)[rank].to(device)
        targets = targets.chunk(world)[rank].to(device)
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()


def reference_parameters() -> dict[str, torch.Tensor]:
    """The same training in one process, on the global batches."""
    model = make_model()
    train(model, model.parameters(), 0, 1, "cpu")
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def train_ddp(rank: int, world: int, store_path: str):
    from torch.nn.parallel import DistributedDataParallel

    device = init(rank, world, store_path, None)
    model = make_model().to(device)
    ddp = DistributedDataParallel(model)
    train(ddp, ddp.parameters(), rank, world, device)
    return {name: value.detach().cpu() for name, value in model.state_dict().items()}


def train_fsdp(rank: int, world: int, store_path: str):
    from torch.distributed.device_mesh import init_device_mesh

    try:
        from torch.distributed.fsdp import fully_shard
    except ImportError:  # torch 2.5 and earlier kept it here
        from torch.distributed._composable.fsdp import fully_shard

    device = init(rank, world, store_path, None)
    mesh = init_device_mesh(DEVICE, (world,))
    model = make_model().to(device)
    for layer in model:
        if isinstance(layer, nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    train(model, model.parameters(), rank, world, device)
    full = {name: value.full_tensor() for name, value in model.state_dict().items()}
    return {name: value.detach().cpu() for name, value in full.items()}


# ---- Sharing tensors through torch.multiprocessing --------------------------------
# Started with start_process(); each takes the queues it talks through.

SHARING_TIMEOUT = 120.0


def start_process(target: Callable, *arguments) -> mp.Process:
    """A spawned process running ``target(*arguments)``; stop it with stop_process()."""
    process = mp.get_context("spawn").Process(target=target, args=arguments)
    process.start()
    return process


def stop_process(process: mp.Process, timeout: float = 60.0) -> int | None:
    """Wait for the process up to ``timeout``, then kill it: returns its exit status."""
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join(10)
    return process.exitcode


def receive_and_write(tensors, replies) -> None:
    """Consumer: report what arrived, then write -1 into the tensor it was sent."""
    try:
        received = tensors.get(timeout=SHARING_TIMEOUT)
        view, same_storage, parameter = (
            received["view"],
            received["same storage"],
            received["parameter"],
        )
        report = {
            "device": str(view.device),
            "values": view.cpu(),
            "layout": (tuple(view.shape), view.stride(), view.storage_offset()),
            "one storage": view.untyped_storage().data_ptr()
            == same_storage.untyped_storage().data_ptr(),
            "parameter": (type(parameter).__name__, parameter.requires_grad, parameter.cpu()),
            "cpu": received["cpu"],
        }
        view.fill_(-1)
        getattr(torch, DEVICE).synchronize()
        replies.put(_plain(report))
    except BaseException:  # noqa: BLE001 - reported to the test
        replies.put(traceback.format_exc())


def send_and_wait(tensors, done, device_index: int) -> None:
    """Producer: send a device tensor, and stay until the consumer has it."""
    tensor = torch.arange(12.0, device=torch.device(DEVICE, device_index)).reshape(3, 4)
    tensors.put(tensor)
    done.get(timeout=SHARING_TIMEOUT)


def send_without_room(tensors, done) -> None:
    """Producer: a device tensor that cannot move into shareable memory (the device is full)."""
    tensor = torch.ones(1 << 18, device=DEVICE)  # 1 MiB
    backend.set_memory_capacity(getattr(torch, DEVICE).memory_allocated() + 4096)
    tensors.put(tensor)
    done.get(timeout=SHARING_TIMEOUT)


class DeviceDataset(torch.utils.data.Dataset):
    """Items made on the device, in DataLoader workers."""

    def __len__(self) -> int:
        return 10

    def __getitem__(self, index: int):
        return torch.full((3,), float(index), device=DEVICE), {"index": index}
