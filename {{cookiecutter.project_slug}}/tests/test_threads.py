"""Many threads using the backend at once."""

import threading

import torch

import {{ cookiecutter.package_name }} as backend

THREADS = 8
PER_THREAD = 2000


def run_in_threads(work):
    """Start THREADS threads together on work(thread_index); return their results."""
    barrier = threading.Barrier(THREADS)
    results = [None] * THREADS
    errors = []

    def run(index):
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_stream_ids_stay_unique_across_threads():
    def create_streams(index):
        device = f"mtia:{index % torch.mtia.device_count()}"
        return [torch.Stream(device=device).stream_id for _ in range(PER_THREAD)]

    ids = [stream_id for batch in run_in_threads(create_streams) for stream_id in batch]
    assert len(set(ids)) == THREADS * PER_THREAD
    assert 0 not in ids


def test_event_ids_stay_unique_across_threads():
    def record_events(index):
        device = f"mtia:{index % torch.mtia.device_count()}"
        stream = torch.Stream(device=device)
        events = [stream.record_event() for _ in range(PER_THREAD)]
        return [event.event_id for event in events]  # all still alive here

    ids = [event_id for batch in run_in_threads(record_events) for event_id in batch]
    assert len(set(ids)) == THREADS * PER_THREAD
    assert 0 not in ids


def test_each_thread_keeps_its_own_device_and_stream():
    count = torch.mtia.device_count()

    def switch_back_and_forth(index):
        device = index % count
        stream = torch.Stream(device=f"mtia:{device}")
        seen = []
        for _ in range(200):
            torch.mtia.set_device(device)
            torch.mtia.set_stream(stream)
            seen.append((torch.mtia.current_device(), torch.mtia.current_stream(device)))
        return {(d, s.stream_id) for d, s in seen} == {(device, stream.stream_id)}

    assert all(run_in_threads(switch_back_and_forth))
    assert torch.mtia.current_device() == 0


def test_threads_queue_and_wait_on_shared_streams():
    count = torch.mtia.device_count()
    streams = [torch.Stream(device=f"mtia:{i % count}") for i in range(THREADS)]

    def producer_consumer(index):
        mine, next_stream = streams[index], streams[(index + 1) % THREADS]
        for round_number in range(50):
            if round_number % 10 == 0:
                backend.sleep(1, mine)
            event = mine.record_event()
            next_stream.wait_event(event)
            next_stream.query()
            event.query()
        mine.synchronize()
        return True

    assert all(run_in_threads(producer_consumer))
    for index in range(count):
        torch.accelerator.synchronize(index)
    assert all(stream.query() for stream in streams)
