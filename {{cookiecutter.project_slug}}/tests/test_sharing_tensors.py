"""Device tensors sent between processes with torch.multiprocessing.

They arrive in the consumer as device tensors over the same memory (as CUDA
tensors do): values, layout, storage sharing and writes in both directions.
A tensor that cannot be shared is refused, in the consumer, with an error:
nothing waits forever. Processes are spawned (a forked child refuses the
device) and stopped by every test.
"""

import queue
import warnings
from multiprocessing.reduction import ForkingPickler

import pytest
import torch
from distributed_workers import (
    DEVICE,
    SHARING_TIMEOUT,
    DeviceDataset,
    _tensors,
    receive_and_write,
    send_and_wait,
    send_without_room,
    start_process,
    stop_process,
)
from torch import multiprocessing as mp

import {{ cookiecutter.package_name }} as backend


def last_device() -> int:
    return getattr(torch, DEVICE).device_count() - 1


def test_a_device_tensor_arrives_over_the_same_memory():
    context = mp.get_context("spawn")
    tensors, replies = context.Queue(), context.Queue()
    consumer = start_process(receive_and_write, tensors, replies)
    try:
        device = torch.device(DEVICE, last_device())
        base = torch.arange(24.0, device=device).reshape(4, 6)
        view = base[1:, ::2]  # strided, with an offset
        parameter = torch.nn.Parameter(torch.randn(3, device=device))
        tensors.put(
            {"view": view, "same storage": base[0], "parameter": parameter, "cpu": torch.arange(3)}
        )
        reply = replies.get(timeout=SHARING_TIMEOUT)
        assert not isinstance(reply, str), reply
        reply = _tensors(reply)
        assert reply["device"] == str(device)
        original = torch.arange(24.0).reshape(4, 6)
        torch.testing.assert_close(reply["values"], original[1:, ::2])
        assert reply["layout"] == (tuple(view.shape), view.stride(), view.storage_offset())
        assert reply["one storage"], "two tensors of one storage arrived with two storages"
        name, requires_grad, values = reply["parameter"]
        assert (name, requires_grad) == ("Parameter", True)
        torch.testing.assert_close(values, parameter.detach().cpu())
        torch.testing.assert_close(reply["cpu"], torch.arange(3))  # torch's own reduction
        # The consumer wrote -1 into the view: the producer's tensor is the same memory.
        original[1:, ::2] = -1
        torch.testing.assert_close(base.cpu(), original)
    finally:
        assert stop_process(consumer) == 0


def test_a_received_tensor_outlives_its_producer():
    context = mp.get_context("spawn")
    tensors, done = context.Queue(), context.Queue()
    producer = start_process(send_and_wait, tensors, done, last_device())
    try:
        received = tensors.get(timeout=SHARING_TIMEOUT)
    finally:
        done.put(True)
        assert stop_process(producer) == 0
    assert received.device == torch.device(DEVICE, last_device())
    received.add_(1)
    torch.testing.assert_close(received.cpu(), torch.arange(1.0, 13.0).reshape(3, 4))


def test_a_tensor_that_cannot_be_shared_raises_in_the_consumer_instead_of_hanging():
    context = mp.get_context("spawn")
    tensors, done = context.Queue(), context.Queue()
    producer = start_process(send_without_room, tensors, done)
    try:
        with pytest.raises(backend._sharing.SharingError, match="could not share"):
            tensors.get(timeout=SHARING_TIMEOUT)
    except queue.Empty:
        pytest.fail("nothing arrived: the consumer would wait forever")
    finally:
        done.put(True)
        assert stop_process(producer) == 0


def test_dataloader_workers_return_device_tensors():
    loader = torch.utils.data.DataLoader(
        DeviceDataset(),
        batch_size=4,
        num_workers=2,
        multiprocessing_context="spawn",
        timeout=SHARING_TIMEOUT,
    )
    batches = list(loader)
    assert [batch[1]["index"].tolist() for batch in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    for values, labels in batches:
        assert values.device.type == DEVICE
        expected = labels["index"].float()[:, None].expand(-1, 3)
        torch.testing.assert_close(values.cpu(), expected)


def test_pickling_keeps_other_tensors_on_torchs_reductions_and_refuses_non_leaves():
    cpu = torch.arange(4.0)
    torch.testing.assert_close(ForkingPickler.loads(ForkingPickler.dumps(cpu)), cpu)
    device = torch.ones(2, device=DEVICE, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf tensor"):
        ForkingPickler.dumps(device * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no hook, no warning
        again = ForkingPickler.loads(ForkingPickler.dumps(device))
    assert again.requires_grad and again.device == device.device
    torch.testing.assert_close(again.detach().cpu(), torch.ones(2))


def test_threads_sharing_one_fresh_tensor_at_once_share_one_block():
    # Each share of memory not yet shareable moves it; two at once once moved
    # it twice, and one thread handed out the block the other replaced.
    import os
    import threading

    extension = backend.load()

    def share(tensor, start, blocks):
        start.wait()
        fd = extension.ipc_share_storage(tensor)[0]
        blocks.append(os.fstat(fd).st_ino)

    for _ in range(10):
        tensor = torch.ones(1 << 16, device=DEVICE)
        backend.sleep(5)  # the move waits for the stream: a window for the other thread
        start, blocks = threading.Barrier(2), []
        threads = [threading.Thread(target=share, args=(tensor, start, blocks)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        final = os.fstat(extension.ipc_share_storage(tensor)[0]).st_ino
        assert blocks == [final, final]


@pytest.mark.skipif(
    not hasattr(getattr(torch, DEVICE), "MTIAGraph"), reason="device graphs are new in torch 2.10"
)
def test_a_tensor_a_captured_graph_uses_is_refused_instead_of_moved():
    # Sharing moves memory that is not shareable yet; a graph captured before
    # would go on writing the old memory, silently.
    device_module = getattr(torch, DEVICE)
    source = torch.ones(4, device=DEVICE)
    target = torch.zeros(4, device=DEVICE)
    graph = device_module.MTIAGraph()
    with device_module.graph(graph):
        target.copy_(source)
    with pytest.raises(RuntimeError, match="a captured graph uses it"):
        ForkingPickler.loads(ForkingPickler.dumps(target))
    source.fill_(5)
    graph.replay()
    assert target.cpu().tolist() == [5.0, 5.0, 5.0, 5.0]
